"""atheris harness: both whole middlewares, fed random requests, never answer 5xx, never raise, and always
reset the current credential.

Run: ``python fuzz/fuzz_middleware.py -runs=5000`` (each input makes one WSGI and one ASGI request).
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import atheris

with atheris.instrument_imports():
    from _common import Provider, query, token

    from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig, LtiaasMiddleware
    from ltiaas_auth.context import credential_var

Message = MutableMapping[str, Any]

# A closed loopback port: prefetch is off, so nothing is ever sent there.
CONFIG = LtiaasConfig("fuzz-api-key", "http://127.0.0.1:9", cache_size=256)
SOURCES = ("authorization", "query", "header", "form", "json")
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
    "APPLICATION/JSON; x",
]


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH", "")
    body = stream.read(int(length)) if length.isdigit() else b""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


async def asgi_app(
    scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Message]], send: Any
) -> None:
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


# The gate alone: CONFIG has no LTIAAS behind it to confirm a launch (prefetch is tested against FakeLtiaas).
GATE = {"prefetch_idtoken": False}
WSGI = [
    LtiaasMiddleware(wsgi_app, CONFIG, **GATE),
    LtiaasMiddleware(wsgi_app, CONFIG, sources=SOURCES, max_body_size=64, **GATE),
]
ASGI = [
    LtiaasASGIMiddleware(asgi_app, config=CONFIG, **GATE),
    LtiaasASGIMiddleware(asgi_app, config=CONFIG, sources=SOURCES, max_body_size=64, require=False, **GATE),
]


def check_status(status: int, body: bytes) -> None:
    if status >= 500:
        raise AssertionError(f"answered {status}: {body[:200]!r}")
    if status != 200 and json.loads(body)["status"] != status:
        raise AssertionError("a rejection outside LTIAAS's error shape")
    if credential_var.get() is not None:
        raise AssertionError("the credential outlived its request")


def run_wsgi(app: LtiaasMiddleware, environ: dict[str, Any]) -> None:
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None, /) -> Any:
        statuses.append(status)
        return lambda data: None

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        getattr(iterable, "close", lambda: None)()
    check_status(int(statuses[-1][:3]), body)


async def run_asgi(app: LtiaasASGIMiddleware, scope: dict[str, Any], chunks: list[bytes]) -> None:
    inbox: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 5)
    status = next(message["status"] for message in sent if message["type"] == "http.response.start")
    check_status(status, b"".join(message.get("body", b"") for message in sent[1:]))


def test_one_input(data: bytes) -> None:
    fdp: Provider = atheris.FuzzedDataProvider(data)
    which = fdp.ConsumeIntInRange(0, 1)
    method = str(fdp.PickValueInList(["GET", "POST", "OPTIONS", ""]))
    path = str(fdp.PickValueInList(["/", "/x", ""]))
    text = query(fdp)
    authorization = str(fdp.PickValueInList(["Bearer ", "LTIK-AUTH-V1 Token=", "", "Basic "])) + token(fdp)
    x_ltik = token(fdp) if fdp.ConsumeBool() else ""
    content_type = str(fdp.PickValueInList(CONTENT_TYPES))
    body = json.dumps({"ltik": token(fdp)}).encode() if fdp.ConsumeBool() else fdp.ConsumeBytes(120)
    length = str(fdp.PickValueInList([str(len(body)), "", "-1", "x", str(len(body) + 5), "0"]))

    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": text,
        "HTTP_AUTHORIZATION": authorization,
        "HTTP_X_LTIK": x_ltik,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": length,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": fdp.ConsumeBool(),
    }
    run_wsgi(WSGI[which], environ)

    headers = [(b"authorization", authorization.encode("utf-8")), (b"content-type", content_type.encode())]
    if x_ltik:
        headers.append((b"x-ltik", x_ltik.encode("utf-8")))
    if length:
        headers.append((b"content-length", length.encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": text.encode("latin-1"),
        "headers": headers,
    }
    cut = fdp.ConsumeIntInRange(1, 4)
    chunks = [body[i : i + cut * 8] for i in range(0, len(body), cut * 8)] or [b""]
    asyncio.run(run_asgi(ASGI[which], scope, chunks))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
