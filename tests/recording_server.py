"""A tiny real HTTP server on 127.0.0.1 that records what reaches it, and a socket that counts connections."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    @property
    def seen(self) -> list[tuple[str, str | None]]:
        """(path, Authorization) of each request, in order."""
        return [(path, headers.get("Authorization")) for _, path, headers in self.requests]


@contextmanager
def recording_server() -> Iterator[Recorded]:
    """Records each request; ``?to=<url>`` answers 302 to that URL, anything else 200 with JSON."""
    recorded = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorded.requests.append(("GET", self.path, dict(self.headers.items())))
            target = parse_qs(urlsplit(self.path).query).get("to")
            body = b'{"ok": true}'
            self.send_response(302 if target else 200)
            if target:
                self.send_header("Location", target[0])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def listening_socket() -> Iterator[tuple[str, socket.socket]]:
    """A socket that listens but never answers: ``accept()`` tells whether anything connected."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", sock
    finally:
        sock.close()


def connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1
