"""Pieces of the ``ltik.js`` browser tests: a request log kept by the servers, the servers, and Chromium.

Each tool under test is wrapped (outside the middleware) by :class:`RequestLog`, which records every
request as it arrived (method, path, query, ``Authorization``, ``Sec-Fetch-Mode``) and the status it got;
the examples log, from inside the middleware, which launch served each request (its fingerprint, on the
``examples.*`` loggers), and :class:`LaunchLogHandler` adds that to the same record.
"""

from __future__ import annotations

import html
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import browser_helpers

from ltiaas_auth import LtiaasConfig, LtiaasMiddleware
from ltiaas_auth.frontend import script_path, script_tag

#: Added to ``browser_helpers.ARGUMENTS`` for the ltik.js tests.
ARGUMENTS = (
    "--disable-quic",
    # Back and forward always ask the server again (as when the cache evicts a page): the harder path.
    "--disable-features=BackForwardCache",
)
WAIT = 5.0  # seconds, the deadline of every wait on the browser

_current: ContextVar[Served | None] = ContextVar("served", default=None)


@dataclass
class Served:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    authorization: str | None
    fetch_mode: str | None
    accept: str | None
    status: int | None = None
    launch: str | None = None  # the fingerprint of the launch the app ran as; None when it did not run
    app_ran: bool = False

    def carries(self, ltik: str) -> bool:
        """Whether the ltik came in the URL or a header of this request."""
        return ltik in self.query or ltik in (self.authorization or "")


@dataclass
class RequestLog:
    """Every request a server got, in order of arrival."""

    entries: list[Served] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _start(self, method: str, path: str, query: str, headers: dict[str, str]) -> Served:
        served = Served(
            method,
            path,
            query,
            headers.get("authorization"),
            headers.get("sec-fetch-mode"),
            headers.get("accept"),
        )
        with self.lock:
            self.entries.append(served)
        return served

    def since(self, mark: int) -> list[Served]:
        with self.lock:
            return [entry for entry in self.entries[mark:] if entry.path != "/favicon.ico"]

    def mark(self) -> int:
        with self.lock:
            return len(self.entries)

    def wsgi(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def recorded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            headers = {
                key[5:].replace("_", "-").lower(): value
                for key, value in environ.items()
                if key.startswith("HTTP_")
            }
            served = self._start(
                environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"], headers
            )

            def start(status: str, response_headers: list[tuple[str, str]], *args: Any) -> Any:
                served.status = int(status.split()[0])
                return start_response(status, response_headers, *args)

            token = _current.set(served)
            try:
                yield from app(environ, start)
            finally:
                _current.reset(token)

        return recorded

    def asgi(self, app: Callable[..., Any]) -> Callable[..., Any]:
        async def recorded(
            scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
        ) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
            served = self._start(
                scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers
            )

            async def watched(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    served.status = message["status"]
                await send(message)

            token = _current.set(served)
            try:
                await app(scope, receive, watched)
            finally:
                _current.reset(token)

        return recorded


class LaunchLogHandler(logging.Handler):
    """Adds what the app logged (``extra={"launch": fingerprint}``) to the request being served."""

    def emit(self, record: logging.LogRecord) -> None:
        served = _current.get()
        if served is not None:
            served.app_ran = True
            served.launch = getattr(record, "launch", None)


@contextmanager
def launch_logging(*names: str) -> Iterator[None]:
    handler = LaunchLogHandler()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@contextmanager
def asgi_server(app: Callable[..., Any]) -> Iterator[str]:
    """``app`` under uvicorn in a thread on a loopback port; its URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@contextmanager
def cors_server() -> Iterator[tuple[str, list[Received]]]:
    """Another origin on loopback that lets any origin call it with any of the ltik's carriers
    (``Authorization``, ``X-Ltik``), so whatever a page sent arrives and is recorded."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            received.append(
                Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            page = b"<!doctype html><title>elsewhere</title><p id=elsewhere>elsewhere</p>"
            self.send_response(200 if self.command != "OPTIONS" else 204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Ltik")
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page) if self.command != "OPTIONS" else 0))
            self.end_headers()
            if self.command != "OPTIONS":
                self.wfile.write(page)

        do_GET = do_POST = do_OPTIONS = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def probe_app(config: LtiaasConfig) -> Callable[..., Iterable[bytes]]:
    """The test tool, every page with ``ltik.js`` under ``script-src 'nonce-…'`` (no ``unsafe-inline``).

    - ``/unit`` (no ltik needed): ``?nonce=wrong`` inlines the script under another nonce (to be blocked).
    - ``/page`` (launched): links and forms to ``?to=`` (another origin) and to this one.
    - ``/marked`` (no ltik needed): without an ltik in its query, a 200 page marked as the rejection page
      (``data-ltiaas-error="MISSING_LTIK"``), so only the marker can tell the script.
    - ``/static/ltik.js`` the file, and ``/external`` a page loading it from there (``script-src 'self'``).
    - ``/refused`` (no ltik needed): a 401 rejection page; with an ltik in the query, a 302 to itself
      without it (a server that drops the ltik: the script must not loop).
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, query = environ["PATH_INFO"], dict(parse_qsl(environ["QUERY_STRING"]))
        if path == "/static/ltik.js":  # the file, as the integrations serve it
            source = script_path().read_bytes()
            start_response(
                "200 OK", [("Content-Type", "text/javascript"), ("Content-Length", str(len(source)))]
            )
            return [source]
        if path == "/external":  # a page loading it from that URL under script-src 'self'
            page = b'<!doctype html><html><head><script src="/static/ltik.js"></script></head></html>'
            csp = ("Content-Security-Policy", "script-src 'self'; object-src 'none'; base-uri 'none'")
            start_response("200 OK", [("Content-Type", "text/html"), csp, ("Content-Length", str(len(page)))])
            return [page]
        if path == "/refused" and "ltik" in query:
            start_response("302 Found", [("Location", "/refused"), ("Content-Length", "0")])
            return [b""]
        nonce = secrets.token_urlsafe(12)
        tag = script_tag("wrong0" if query.get("nonce") == "wrong" else nonce)
        to = html.escape(query.get("to", "/page"))
        marked = (path == "/marked" and "ltik" not in query) or path == "/refused"
        body = (
            f'<a id="away" href="{to}?x=1">away</a> <a id="here" href="/unit?from=link#top">here</a>'
            '<a id="blank" href="/unit?from=blank" target="_blank">new tab</a>'
            f'<form id="away-form" method="post" action="{to}?x=2"><input name="a" value="b"></form>'
            f'<form id="away-get" method="get" action="{to}"><input name="q" value="1"><button>go</button>'
            '</form><form id="here-get" method="get" action="/unit?dropped=1"><input name="q" value="2">'
            '<button id="here-get-go">go</button></form><form id="here-post" method="post" action="/unit">'
            '<button id="here-post-go" formaction="/unit?via=button">go</button></form>'
            '<form id="shadowed" method="post" action="/unit?shadowed=1"><input name="action" value="save">'
            '<input name="method" value="get"><input name="elements">'
            '<button id="shadowed-go">go</button></form>'
        )
        ready = f'<script nonce="{nonce}">document.documentElement.dataset.ready = "yes";</script>'
        mark = ' data-ltiaas-error="MISSING_LTIK"' if marked else ""
        if "clobber" in query:  # an element named like the API, before the script
            page = f'<html><body><div id="ltiaas"></div>{tag}{ready}</body></html>'
        else:
            page = f"<html{mark}><head>{tag}</head><body>{body}{ready}</body></html>"
        document = f"<!doctype html>{page}".encode()
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
        headers.append(
            ("Content-Security-Policy", f"script-src 'nonce-{nonce}'; object-src 'none'; base-uri 'none'")
        )
        status = "401 Unauthorized" if path == "/refused" else "200 OK"
        start_response(status, [*headers, ("Content-Length", str(len(document)))])
        return [document]

    exempt = ("/unit", "/marked", "/refused", "/static/ltik.js", "/external", "/favicon.ico")
    return LtiaasMiddleware(app, config, exempt=exempt, prefetch_idtoken=True)


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """``browser_helpers.chromium`` with this module's arguments and :data:`WAIT` for scripts."""
    with browser_helpers.chromium(profile, *ARGUMENTS) as driver:
        driver.set_script_timeout(WAIT)
        yield driver


def until(driver: Any, condition: Callable[[Any], Any], what: str, timeout: float = WAIT) -> Any:
    """Wait (with a deadline) until ``condition(driver)`` is truthy; its value."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)
    except TimeoutException:
        raise AssertionError(f"waited {timeout} s for {what}; at {driver.current_url}") from None


def history_urls(driver: Any) -> list[str]:
    """The URL of every entry of this tab's session history (the browser's own list, through CDP)."""
    entries = driver.execute_cdp_cmd("Page.getNavigationHistory", {})["entries"]
    return [entry["url"] for entry in entries]
