"""Shared pieces for the middleware tests: a config, probe apps that report what they saw, drivers.

The probe apps answer JSON ``{"auth", "launch", "key", "body"}``: the current ``auth_header()`` (None when
there is no credential), the current launch's fingerprint, the fingerprint at the environ/scope key, and
the body the app read, so every test can check what the app got.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from ltiaas_auth import LtiaasConfig, NoLaunchContext, auth_header, current_launch
from ltiaas_auth.context import credential_var
from ltiaas_auth.testing import FakeLtiaas

API_KEY = "test-api-key"
# A closed loopback port: nothing in these tests ever reaches it.
CONFIG = LtiaasConfig(API_KEY, "http://127.0.0.1:9")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seen(key_launch: Any, body: bytes = b"") -> dict[str, Any]:
    """What a probe app reports: the current credential, launch, and the launch at the env/scope key."""
    credential = credential_var.get()
    try:
        fingerprint: str | None = current_launch().ltik.fingerprint
    except NoLaunchContext:
        fingerprint = None
    return {
        "auth": auth_header() if credential is not None else None,
        "launch": fingerprint,
        "key": key_launch.ltik.fingerprint if key_launch is not None else None,
        "body": body.decode("latin-1"),
    }


def wsgi_probe(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Reads the whole body (as an app would) and reports what it saw."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    payload = json.dumps(seen(environ.get("ltiaas_auth.launch"), body)).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


async def read_body(receive: Callable[[], Awaitable[Message]]) -> bytes:
    """The whole request body, as an ASGI app reads it (until ``more_body`` is false or a disconnect)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def asgi_probe(scope: Scope, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        message = await receive()
        assert message["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(seen(scope.get("ltiaas_auth.launch")))})
        await send({"type": "websocket.close", "code": 1000})
        return
    payload = json.dumps(seen(scope.get("ltiaas_auth.launch"), await read_body(receive))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def asgi_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: Iterable[tuple[bytes, bytes]] = (),
    query: bytes = b"",
    kind: str = "http",
) -> Scope:
    """A scope as a server builds it: lowercase byte header names, raw query bytes."""
    scope: Scope = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    if kind == "http":
        scope["method"] = method
    return scope


class Response:
    """A response collected from a direct ASGI call."""

    def __init__(self, messages: list[Message]) -> None:
        start = next(m for m in messages if m["type"] == "http.response.start")
        self.status: int = start["status"]
        self.raw_headers: list[tuple[bytes, bytes]] = [(bytes(n), bytes(v)) for n, v in start["headers"]]
        self.headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in self.raw_headers
        }
        self.body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")

    def json(self) -> Any:
        return json.loads(self.body)


async def call_asgi(app: ASGIApp, scope: Scope, body: Iterable[bytes] = (b"",)) -> Response:
    """Run one HTTP request through ``app``: ``body`` is sent as one ``http.request`` message per chunk,
    then ``http.disconnect`` for any further receive."""
    chunks = list(body)
    inbox: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        if inbox:
            return inbox.pop(0)
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return Response(sent)


def wsgi_environ(
    path: str = "/",
    *,
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> dict[str, Any]:
    """A minimal PEP 3333 environ for calling a WSGI app directly."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return environ


def call_wsgi(
    app: Callable[..., Iterable[bytes]], environ: dict[str, Any]
) -> tuple[int, dict[str, str], bytes]:
    """Call a WSGI app as a server does (iterate, then close) and collect its answer."""
    status: list[str] = []
    headers: list[tuple[str, str]] = []

    def start_response(line: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(line)
        headers[:] = response_headers
        return lambda data: None

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return int(status[-1].split()[0]), {name.lower(): value for name, value in headers}, body


def idtoken_fetches(fake: FakeLtiaas) -> int:
    """How many times LTIAAS (the fake) was asked for an idtoken, whatever the path's leading slashes."""
    return sum(1 for call in fake.calls if call.path.endswith("/api/idtoken"))
