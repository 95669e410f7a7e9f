"""Blocking calls to LTIAAS over the standard library, so the core needs no HTTP client.

Redirects are never followed (urllib would carry the ``Authorization`` header to whatever host a redirect
names), proxies are skipped for loopback origins (a plain-http key never crosses a proxy), https uses
``config.ssl_context`` (else the system's trust store), and every answer is size-capped and time-limited:
``config.timeout`` bounds each socket operation, and an overall deadline of ``2 * timeout + 1`` seconds
cuts off a server that drips its answer. Failures are classified by :func:`ltiaas_auth.errors.upstream_error`
and reported by :func:`ltiaas_auth._upstream_log.report_upstream_failure`. No exception raised here
chains urllib's frames (whose locals hold the request headers).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from ._upstream_log import report_upstream_failure
from .errors import UpstreamError, retry_after_seconds, upstream_error

if TYPE_CHECKING:
    from .config import LtiaasConfig
    from .credentials import Credential

__all__ = ["MAX_BODY", "deadline_for", "error_body", "get_json", "ssl_context_of", "trust_store"]

MAX_BODY = 1 << 20


def deadline_for(config: LtiaasConfig) -> float:
    """Seconds one call to LTIAAS may take in all: ``timeout`` bounds each socket operation, and a call
    makes a few of them (connect, handshake, send, read)."""
    return config.timeout * 2 + 1


def get_json(config: LtiaasConfig, path: str, credential: Credential | str) -> dict[str, Any]:
    """GET ``path`` on LTIAAS with ``credential`` (a ``Credential``, or its ``Authorization`` value); the
    parsed JSON object, or the classified ``UpstreamError`` (logged once per kind per interval).

    Pass the ``Credential`` rather than its header: the header then never sits in a local variable of
    this call (``capture_locals`` tracebacks print those), and the log line names the ltik's fingerprint.
    """
    if isinstance(credential, str):
        scheme, fingerprint = credential.partition(" ")[0], None
        headers = {"Authorization": credential, "Accept": "application/json"}
    else:
        scheme, fingerprint = credential.authorization.partition(" ")[0], _fingerprint(credential)
        headers = {"Authorization": credential.authorization, "Accept": "application/json"}
    request = _Request(config, config.base_url + path, headers)
    del headers
    started = time.monotonic()
    try:
        status, raw = _send(config, request)
    except UpstreamError as error:
        report_upstream_failure(
            config,
            error,
            path=path,
            elapsed=time.monotonic() - started,
            fingerprint=fingerprint,
            timed_out=request.timed_out,
        )
        raise
    finally:
        request.deadline.cancel()
    if status >= 300:
        refused = upstream_error(status, error_body(raw), scheme=scheme, retry_after=request.retry_after)
        report_upstream_failure(
            config, refused, path=path, elapsed=time.monotonic() - started, fingerprint=fingerprint
        )
        raise refused
    value = _json(raw)
    if not isinstance(value, dict):
        raise UpstreamError("LTIAAS answered with a body that is not a JSON object.", upstream_status=status)
    return value


def _send(config: LtiaasConfig, request: _Request) -> tuple[int, bytes]:
    """``(status, body)``; ``UpstreamError`` when LTIAAS could not be reached or did not answer in time."""
    opener = _DIRECT_OPENER if config.origin[0] == "http" else _OPENER
    try:
        with opener.open(request, timeout=config.timeout) as response:
            return response.status, _read(response, request.deadline)
    except urllib.error.HTTPError as error:
        with error:
            request.retry_after = retry_after_seconds(error.headers.get("Retry-After"))
            try:
                return error.code, _read(error, request.deadline)
            except (OSError, http.client.HTTPException):
                return error.code, b""
    except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timeout, reset, garbage
        request.timed_out = request.deadline.expired or isinstance(_reason(error), TimeoutError)
        what = (
            f"LTIAAS did not answer in time ({config.timeout:g} s a read, {deadline_for(config):g} s in all)."
            if request.timed_out
            else f"LTIAAS could not be reached ({type(_reason(error)).__name__})."
        )
    raise upstream_error(None, None, scheme=None, description=what)  # outside except: no chained frames


def _read(response: Any, deadline: _Deadline) -> bytes:
    body: bytes = response.read(MAX_BODY + 1)
    if deadline.expired:
        raise TimeoutError("the overall deadline passed")
    return body


def _reason(error: BaseException) -> BaseException:
    """What went wrong below urllib's wrapping ``URLError``."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        return error.reason
    return error


def _fingerprint(credential: Credential) -> str | None:
    ltik = getattr(credential, "ltik", None)
    fingerprint = getattr(ltik, "fingerprint", None)
    return fingerprint if isinstance(fingerprint, str) else None


class _Deadline:
    """Cuts the connection of one call when its overall deadline passes: a blocked read then ends at once.

    ``socket.socket.shutdown`` is called on the raw socket (also under TLS, bypassing ``SSLSocket``'s own,
    which would drop the TLS object under a reading thread)."""

    __slots__ = ("_connection", "_lock", "_socket", "_timer", "expired")

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._connection: http.client.HTTPConnection | None = None
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, connection: http.client.HTTPConnection) -> None:
        """Cut ``connection``'s socket, whichever it is by then (plain, or during the TLS handshake)."""
        with self._lock:
            self._connection = connection

    def connected(self, sock: socket.socket) -> None:
        """The connected socket: urllib drops it from the connection once the response has begun, while
        the response goes on reading from it."""
        with self._lock:
            self._socket = sock
            expired = self.expired
        if expired:
            self._shutdown(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            sock = self._socket
            if sock is None and self._connection is not None:
                sock = self._connection.sock
        if sock is not None:
            self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Request(urllib.request.Request):
    """A request that carries what our handlers need: its deadline and its TLS context."""

    def __init__(self, config: LtiaasConfig, url: str, headers: dict[str, str]) -> None:
        super().__init__(url, headers=headers)  # the URL is the validated https/loopback base_url
        self.deadline = _Deadline(deadline_for(config))
        self.ssl_context = ssl_context_of(config)
        self.retry_after: float | None = None
        self.timed_out = False

    def __repr__(self) -> str:
        return f"<LTIAAS request {self.get_method()} {self.selector.partition('?')[0]}>"


def ssl_context_of(config: LtiaasConfig) -> ssl.SSLContext:
    """The TLS context every outbound call to ``config``'s LTIAAS uses: ``config.ssl_context``, else the
    system's trust store."""
    context: ssl.SSLContext | None = config.ssl_context
    return context if context is not None else trust_store()


@functools.cache
def trust_store() -> ssl.SSLContext:
    """The system's trust store, loaded once (loading it costs milliseconds): what ``ssl_context=None``
    means for every outbound call."""
    return ssl.create_default_context()


class _Connection(http.client.HTTPConnection):
    """A connection held to the call's overall deadline from ``connect()`` on."""

    def __init__(self, host: str, *, deadline: _Deadline, **options: Any) -> None:
        super().__init__(host, **options)
        self._deadline = deadline

    def connect(self) -> None:
        self._deadline.watch(self)
        super().connect()  # for _TLSConnection, HTTPSConnection's: the TLS handshake is inside the deadline
        self._deadline.connected(self.sock)
        if self._deadline.expired:
            raise TimeoutError("the overall deadline passed")


class _TLSConnection(_Connection, http.client.HTTPSConnection):
    """:class:`_Connection` over TLS."""


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        assert isinstance(req, _Request)
        return self.do_open(functools.partial(_Connection, deadline=req.deadline), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        assert isinstance(req, _Request)
        return self.do_open(
            functools.partial(_TLSConnection, deadline=req.deadline), req, context=req.ssl_context
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_NoRedirect(), _HTTPHandler(), _HTTPSHandler())
_DIRECT_OPENER = urllib.request.build_opener(
    _NoRedirect(), _HTTPHandler(), _HTTPSHandler(), urllib.request.ProxyHandler({})
)


def _json(raw: bytes) -> Any:
    if len(raw) > MAX_BODY:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def error_body(raw: bytes) -> dict[str, Any] | None:
    """LTIAAS's ``{status, error, details}``; anything else (a proxy's HTML page, say) is not kept."""
    value = _json(raw)
    if isinstance(value, dict) and isinstance(value.get("status"), int):
        return value
    return None
