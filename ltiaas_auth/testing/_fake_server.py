"""The fake's HTTP server: HTTP/1.1 with keep-alive, optionally TLS, counting the TCP connections it accepts.

The standard library's ``socketserver`` and ``http.server`` (one thread per connection) rather than a WSGI
server: the fake must see each request exactly as sent (method case, a doubled leading slash, every query
value), keep connections open between requests so a client's connection reuse can be measured, and close
them all when it stops. It writes no log line: no path or header is ever printed.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

from werkzeug.wrappers import Response

from ltiaas_auth.testing._fake_routing import Incoming

__all__ = ["FakeHttpServer"]

Respond = Callable[[Incoming], "Response | None"]  # None: drop the connection without an answer

MAX_BODY = 8 * 1024 * 1024
IDLE_TIMEOUT = 60.0  # seconds an idle keep-alive connection stays open
HANDSHAKE_TIMEOUT = 10.0


class FakeHttpServer(socketserver.ThreadingTCPServer):
    """One thread per connection; ``connections`` counts accepted TCP connections."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128  # bursts of concurrent clients are accepted at once (socketserver's default: 5)

    def __init__(
        self, host: str, port: int, respond: Respond, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.respond = respond
        self.ssl_context = ssl_context
        self.connections = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._lock:
            self.connections += 1
            self._open.add(request)
        super().process_request(request, client_address)

    def swap(self, old: socket.socket, new: socket.socket | None) -> None:
        """Track `new` in place of `old` (a TLS socket for its TCP socket; None when closed)."""
        with self._lock:
            self._open.discard(old)
            if new is not None:
                self._open.add(new)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        self.swap(request, None)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection (idle keep-alive ones included): a stopped fake answers nothing."""
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """Say nothing: a client that left, reset or failed the TLS handshake is not the fake's error."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeLtiaas"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: FakeHttpServer
    _tls: ssl.SSLSocket | None = None

    def setup(self) -> None:
        context = self.server.ssl_context
        if context is not None:
            raw: socket.socket = self.request
            raw.settimeout(HANDSHAKE_TIMEOUT)
            self._tls = context.wrap_socket(raw, server_side=True)
            self.request = self._tls
            self.server.swap(raw, self._tls)
        super().setup()

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        if self._tls is not None:
            self.server.swap(self._tls, None)
            self._tls.close()

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:  # the idle timeout, a reset, a TLS error
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        body = self._body()
        if body is None:
            return
        response = self.server.respond(self._incoming(body))
        if response is None:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self._write(response)

    def _incoming(self, body: bytes) -> Incoming:
        target = str(self.raw_requestline, "iso-8859-1").split()[1]
        path, _, raw_query = target.partition("?")
        query: dict[str, str] = {}
        repeated: list[str] = []
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            if name in query:
                repeated.append(name)
            query.setdefault(name, value)
        return Incoming(
            method=self.command,
            path=path,
            query=query,
            repeated=tuple(dict.fromkeys(repeated)),
            authorization=self.headers.get("Authorization"),
            content_type=self.headers.get("Content-Type"),
            body=body,
        )

    def _body(self) -> bytes | None:
        """The request body (chunked or with a Content-Length); None after answering an unreadable one."""
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._chunked()
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 <= length <= MAX_BODY:
                raise ValueError("body size")
            return self.rfile.read(length)
        except (ValueError, OSError):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.send_error(400)
            return None

    def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            length = int(self.rfile.readline(1024).split(b";", 1)[0].strip(), 16)
            if length == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            size += length
            if size > MAX_BODY:
                raise ValueError("body size")
            chunks.append(self.rfile.read(length))
            self.rfile.readline(8)

    def _write(self, response: Response) -> None:
        status = response.status_code
        body = b"" if status in (204, 304) or status < 200 else response.get_data()
        self.send_response(status)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if status not in (204, 304) and status >= 200:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing (no path, no header)."""
