"""What every timing shares: requests built the way servers build them, drivers that call an app the way
a server does (no server, no network), the bare apps, the floor, and the best-of-repeats runner.

The same driver and the same request list serve the bare app, our middleware and the peer in each
comparison, so everything that is not the middleware (building the environ or scope, the loop, the
response) cancels out of ``time with middleware - bare time``. Every time is the CPU time of the timing
thread (``time.thread_time_ns``), so other processes on a busy machine add nothing to it.
"""

from __future__ import annotations

import asyncio
import gc
import io
import math
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import jwt

from ltiaas_auth.asgi import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

R = TypeVar("R")
A = TypeVar("A")

#: Untimed requests per app before the timed runs: warms the code paths (and a warm ltik's cache entry).
WARM_UP = 200

#: What a browser's ``fetch()`` from the tool's front end carries, as it reaches an app behind a reverse
#: proxy that sets the usual ``X-Forwarded-*`` headers (and no ``X-Request-ID``, as nginx by default).
BROWSER_HEADERS: tuple[tuple[str, str], ...] = (
    ("Host", "tool.example.edu"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"),
    ("Accept", "application/json"),
    ("Accept-Language", "en-US,en;q=0.9"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Referer", "https://tool.example.edu/course"),
    ("Sec-Fetch-Site", "same-origin"),
    ("Sec-Fetch-Mode", "cors"),
    ("Sec-Fetch-Dest", "empty"),
)
PROXY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Forwarded-For", "203.0.113.7"),
    ("X-Forwarded-Proto", "https"),
)


@dataclass(frozen=True)
class Request:
    """One GET request, as a WSGI environ (gunicorn's keys) or an ASGI scope (uvicorn's keys)."""

    headers: tuple[tuple[str, str], ...]
    query: str = ""
    path: str = "/api/grades"

    def environ(self) -> WSGIEnvironment:
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": self.path,
            "QUERY_STRING": self.query,
            "SERVER_NAME": "10.0.0.5",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "10.0.0.2",
            "REMOTE_PORT": "51234",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return environ

    def scope(self) -> Scope:
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": self.query.encode(),
            "root_path": "",
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers
            ],
            "client": ("10.0.0.2", 51234),
            "server": ("10.0.0.5", 8000),
            "state": {},
        }


# --- the bare apps: the least a real endpoint does (a status, two headers, a small body)


def bare_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]


async def bare_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    # Fresh messages on every call, as real apps send: a middleware may edit the start message's headers.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"{}"})


# --- the floor: what any middleware that makes a per-request value context-local must do at least

_floor: ContextVar[object] = ContextVar("benchmarks.floor", default=None)


class FloorWSGI:
    """Read one header, set a ContextVar around the app call, reset it. (It resets when the app returns;
    ours must hold the value until the server closes the response, which costs a wrapper.)"""

    __slots__ = ("app",)

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        token = _floor.set(environ.get("HTTP_AUTHORIZATION"))
        try:
            return self.app(environ, start_response)
        finally:
            _floor.reset(token)


class FloorASGI:
    """Scan the scope's headers for one, set a ContextVar around the app call, reset it."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        value = None
        for name, header in scope["headers"]:
            if name == b"authorization":
                value = header
        token = _floor.set(value)
        try:
            await self.app(scope, receive, send)
        finally:
            _floor.reset(token)


# --- drivers


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect, then keep the cyclic GC off while timing: a collection landing in one run and not in
    another is the largest source of noise at this scale. Reference counting still frees everything."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _write(data: bytes) -> None:
    """The ``write`` callable ``start_response`` returns; nothing here uses it."""


def _start_response(
    status: str, headers: list[tuple[str, str]], exc_info: object = None
) -> Callable[[bytes], object]:
    return _write


def time_wsgi(app: WSGIApplication, environs: Sequence[WSGIEnvironment]) -> int:
    """CPU nanoseconds (of this thread) to serve each environ once, as a WSGI server does: a fresh environ
    per request, the body iterated, then ``close()`` called when the response has one. CPU time, not wall
    time: on a shared machine the time this thread spends waiting for a core is not the middleware's."""
    start_response: Any = _start_response
    with quiet_gc():
        start = time.thread_time_ns()
        for template in environs:
            body = app(template.copy(), start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return time.thread_time_ns() - start


def wsgi_status(app: WSGIApplication, environ: WSGIEnvironment) -> int:
    """The status ``app`` answers ``environ`` with: a check that a benchmark times the path it means to."""
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
        statuses.append(status)
        return _write

    body = app(environ.copy(), start_response)
    for _chunk in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return int(statuses[0].split()[0])


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    """The server's ``send``: the message is taken and dropped."""


async def _drive_asgi(app: ASGIApp, scopes: Sequence[Scope]) -> int:
    start = time.thread_time_ns()
    for template in scopes:
        # A fresh scope per request, its header names fresh bytes as uvicorn makes them (``name.lower()``),
        # so no hash computed for the previous request is reused: the middleware pays for it, as it would.
        headers = [(name.lower(), value) for name, value in template["headers"]]
        await app({**template, "headers": headers}, _receive, _send)
    return time.thread_time_ns() - start


class AsgiTimer:
    """Times ASGI apps inside one event loop (an ``asyncio.Runner`` kept open), with no server and no
    network: each request is one ``await app(scope, receive, send)`` in a plain loop."""

    def __init__(self, runner: asyncio.Runner) -> None:
        self._runner = runner

    def __call__(self, app: ASGIApp, scopes: Sequence[Scope]) -> int:
        with quiet_gc():
            return self._runner.run(_drive_asgi(app, scopes))

    def status(self, app: ASGIApp, scope: Scope) -> int:
        """The status ``app`` answers ``scope`` with (see :func:`wsgi_status`)."""
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def call() -> None:
            await app({**scope, "headers": list(scope["headers"])}, _receive, send)

        self._runner.run(call())
        return int(sent[0]["status"])


def best_of(
    repeats: int,
    requests: Callable[[], Sequence[R]],
    apps: Mapping[str, Callable[[], A]],
    timer: Callable[[A, Sequence[R]], int],
) -> dict[str, float]:
    """The best nanoseconds per request of each app over ``repeats`` runs.

    Each run takes a fresh ``requests()`` list, shared by every app of that run, and each app comes from
    its factory per run (a fresh middleware for the first-sight case, the same warm one otherwise). The
    apps take turns within a run, in a rotating order, so a drift of the machine hits them all alike.
    The best run, not the mean, is the figure: on a shared machine the noise only ever adds time.
    """
    warm_up = requests()[:WARM_UP]
    for make in apps.values():
        timer(make(), warm_up)
    names = list(apps)
    best = dict.fromkeys(names, math.inf)
    for repeat in range(repeats):
        batch = requests()
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            best[name] = min(best[name], timer(apps[name](), batch) / len(batch))
    return best


class Minter:
    """Fresh ltiks shaped exactly like ``template`` (a FakeLtiaas ltik: ltijs's claims, ``iat`` and ``exp``),
    each with a new ``s`` claim, so each is a token nothing in this process has seen.

    They are signed with a throwaway secret: the middleware reads the claims without verifying (only
    LTIAAS can), so the signature plays no part in what is measured.
    """

    def __init__(self, template: str) -> None:
        self._claims = jwt.decode(template, options={"verify_signature": False})
        self._secret = secrets.token_bytes(32)

    def __call__(self, count: int) -> list[str]:
        claims, secret = self._claims, self._secret
        return [
            jwt.encode({**claims, "s": secrets.token_urlsafe(16)}, secret, algorithm="HS256")
            for _ in range(count)
        ]
