"""An ``LtiaasAuthError`` raised by ltiaas_auth inside a view is answered by the middleware like a
rejection (401 for ``LtikRefused``, 502 for upstream failures, 403 for ``RoleRequired``), never as the
framework's bare 500: Flask, Django (in a subprocess, for its settings), Starlette, FastAPI and plain
WSGI/ASGI apps, through ``idtoken()`` and a client adapter. Our programming errors stay the framework's 500;
after the response has started the error propagates as before.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, Response, stream_with_context
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from werkzeug.test import Client

from ltiaas_auth import (
    LtiaasASGIMiddleware,
    LtiaasMiddleware,
    NoLaunchContext,
    RoleRequired,
    UpstreamError,
    current_launch,
)
from ltiaas_auth.clients import httpx as httpx_adapter
from ltiaas_auth.clients import requests as requests_adapter
from ltiaas_auth.testing import FakeLtiaas

HERE = Path(__file__).resolve().parent


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as server:
        yield server


def forged(fake: FakeLtiaas) -> str:
    """An ltik that parses and has not expired, but whose signature LTIAAS refuses."""
    return fake.launch()[:-4] + ("AAAA" if not fake.launch().endswith("AAAA") else "BBBB")


# --- the apps ---------------------------------------------------------------------------------------------


def flask_app(fake: FakeLtiaas) -> Any:
    config = fake.config()
    app = Flask(__name__)

    @app.get("/idtoken")
    def idtoken() -> dict[str, Any]:
        return {"user": current_launch().idtoken()["user"]["id"]}

    @app.get("/roster")
    def roster() -> dict[str, Any]:
        with requests_adapter.session(config) as http:
            return {"members": len(http.get("/api/memberships").json()["members"])}

    @app.get("/role")
    def role() -> dict[str, Any]:
        raise RoleRequired()

    @app.get("/bug")
    def bug() -> dict[str, Any]:
        raise NoLaunchContext()

    @app.get("/stream")
    def stream() -> Response:
        def lines() -> Iterator[str]:
            yield "started\n"
            yield current_launch().idtoken()["user"]["id"]

        return Response(stream_with_context(lines()), mimetype="text/plain")

    return LtiaasMiddleware(app.wsgi_app, config, prefetch_idtoken=False)


def starlette_routes(fake: FakeLtiaas) -> list[Route]:
    config = fake.config()

    async def idtoken(request: Request) -> JSONResponse:
        return JSONResponse({"user": (await current_launch().aidtoken())["user"]["id"]})

    async def roster(request: Request) -> JSONResponse:
        async with httpx_adapter.async_client(config) as http:
            return JSONResponse({"members": len((await http.get("/api/memberships")).json()["members"])})

    async def role(request: Request) -> JSONResponse:
        raise RoleRequired()

    async def bug(request: Request) -> JSONResponse:
        raise NoLaunchContext()

    async def stream(request: Request) -> StreamingResponse:
        async def lines() -> Any:
            yield "started\n"
            yield (await current_launch().aidtoken())["user"]["id"]

        return StreamingResponse(lines(), media_type="text/plain")

    return [
        Route("/idtoken", idtoken),
        Route("/roster", roster),
        Route("/role", role),
        Route("/bug", bug),
        Route("/stream", stream),
    ]


def starlette_app(fake: FakeLtiaas) -> Any:
    return LtiaasASGIMiddleware(
        Starlette(routes=starlette_routes(fake)), config=fake.config(), prefetch_idtoken=False
    )


def fastapi_app(fake: FakeLtiaas) -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    for route in starlette_routes(fake):
        app.add_route(route.path, route.endpoint)
    app.add_middleware(LtiaasASGIMiddleware, config=fake.config(), prefetch_idtoken=False)
    return app


def plain_wsgi_app(fake: FakeLtiaas) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/role":
            raise RoleRequired()
        if path == "/bug":
            raise NoLaunchContext()
        if path == "/roster":
            with requests_adapter.session(fake.config()) as http:
                http.get("/api/memberships")
        user = current_launch().idtoken()["user"]["id"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [user.encode()]

    return LtiaasMiddleware(app, fake.config(), prefetch_idtoken=False)


def plain_asgi_app(fake: FakeLtiaas) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        if path == "/role":
            raise RoleRequired()
        if path == "/bug":
            raise NoLaunchContext()
        if path == "/roster":
            async with httpx_adapter.async_client(fake.config()) as http:
                await http.get("/api/memberships")
        if path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"started\n", "more_body": True})
        user = (await current_launch().aidtoken())["user"]["id"]
        if path != "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": user.encode()})

    return LtiaasASGIMiddleware(app, config=fake.config(), prefetch_idtoken=False)


# --- driving them -----------------------------------------------------------------------------------------


def get_wsgi(app: Any, path: str, ltik: str, headers: dict[str, str]) -> tuple[int, str, str]:
    with Client(app).get(path, headers={"Authorization": f"Bearer {ltik}", **headers}) as response:
        return response.status_code, response.headers.get("Content-Type", ""), response.get_data(as_text=True)


def get_asgi(
    app: Any, path: str, ltik: str, headers: dict[str, str], *, raise_app_exceptions: bool = True
) -> tuple[int, str, str]:
    async def main() -> tuple[int, str, str]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(path, headers={"Authorization": f"Bearer {ltik}", **headers})
            return response.status_code, response.headers.get("content-type", ""), response.text

    return asyncio.run(main())


APPS = [
    pytest.param(flask_app, get_wsgi, id="flask"),
    pytest.param(plain_wsgi_app, get_wsgi, id="wsgi"),
    pytest.param(starlette_app, get_asgi, id="starlette"),
    pytest.param(fastapi_app, get_asgi, id="fastapi"),
    pytest.param(plain_asgi_app, get_asgi, id="asgi"),
]


def message(body: str) -> str:
    return str(json.loads(body)["details"]["message"])


@pytest.mark.parametrize(("build", "get"), APPS)
def test_ltiaas_failing_inside_a_view_is_a_502(fake: FakeLtiaas, build: Any, get: Any) -> None:
    fake.fail_next(503)
    status, kind, body = get(build(fake), "/idtoken", fake.launch(), {})
    assert (status, kind, message(body)) == (502, "application/json", "UPSTREAM_UNAVAILABLE")


@pytest.mark.parametrize(("build", "get"), APPS)
def test_an_adapter_failing_inside_a_view_is_a_502(fake: FakeLtiaas, build: Any, get: Any) -> None:
    ltik = fake.launch()
    fake.fail_next(500)
    status, _, body = get(build(fake), "/roster", ltik, {})
    assert (status, message(body)) == (502, "UPSTREAM_UNAVAILABLE")


@pytest.mark.parametrize(("build", "get"), APPS)
def test_ltiaas_refusing_the_ltik_inside_a_view_is_a_401(fake: FakeLtiaas, build: Any, get: Any) -> None:
    status, _, body = get(build(fake), "/idtoken", forged(fake), {})
    assert (status, message(body)) == (401, "INVALID_LTIK")


@pytest.mark.parametrize(("build", "get"), APPS)
def test_a_role_gate_inside_a_view_is_a_403(fake: FakeLtiaas, build: Any, get: Any) -> None:
    status, _, body = get(build(fake), "/role", fake.launch(), {})
    assert (status, message(body)) == (403, "ROLE_REQUIRED")


@pytest.mark.parametrize(("build", "get"), APPS)
def test_a_browser_gets_the_page_for_it(fake: FakeLtiaas, build: Any, get: Any) -> None:
    fake.fail_next(503)
    status, kind, body = get(build(fake), "/idtoken", fake.launch(), {"Sec-Fetch-Mode": "navigate"})
    assert (status, kind) == (502, "text/html; charset=utf-8")
    assert "open the activity again from your course" in body


def test_our_programming_errors_stay_flasks_500(fake: FakeLtiaas) -> None:
    status, _, body = get_wsgi(flask_app(fake), "/bug", fake.launch(), {})
    assert status == 500
    assert "NO_LAUNCH_CONTEXT" not in body


@pytest.mark.parametrize("build", [starlette_app, fastapi_app], ids=["starlette", "fastapi"])
def test_our_programming_errors_stay_starlettes_500(fake: FakeLtiaas, build: Any) -> None:
    status, _, body = get_asgi(build(fake), "/bug", fake.launch(), {}, raise_app_exceptions=False)
    assert status == 500
    assert "NO_LAUNCH_CONTEXT" not in body
    with pytest.raises(NoLaunchContext):  # and it still reaches the server, which logs it
        get_asgi(build(fake), "/bug", fake.launch(), {})


@pytest.mark.parametrize(("build", "get"), [APPS[1], APPS[4]])
def test_our_programming_errors_escape_a_plain_app(fake: FakeLtiaas, build: Any, get: Any) -> None:
    with pytest.raises(NoLaunchContext):
        get(build(fake), "/bug", fake.launch(), {})


@pytest.mark.parametrize(("build", "get"), [APPS[0], APPS[2], APPS[4]])
def test_after_the_response_has_started_the_error_propagates(fake: FakeLtiaas, build: Any, get: Any) -> None:
    ltik = fake.launch()
    fake.fail_next(503)
    with pytest.raises(UpstreamError):
        get(build(fake), "/stream", ltik, {})


def test_django_wsgi_and_asgi() -> None:
    """Django answers a view's exception with its own 500; the middleware replaces it. In a subprocess:
    Django's settings are process-wide."""
    done = subprocess.run(
        [sys.executable, str(HERE / "django_capture_app.py")],
        env={**os.environ, "PYTHONPATH": str(HERE)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for server in ("wsgi", "asgi"):
        assert results[server] == {
            "upstream": [502, "UPSTREAM_UNAVAILABLE"],
            "refused": [401, "INVALID_LTIK"],
            "role": [403, "ROLE_REQUIRED"],
            "bug": [500, None],  # our programming error stays Django's own 500
        }, server


# --- error_app, and an app that had started its response ------------------------------------------------


def test_error_app_renders_an_error_raised_in_the_app(fake: FakeLtiaas) -> None:
    from helpers import call_wsgi, wsgi_environ

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])  # started, then the view fails
        raise RoleRequired()

    def error_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        error = environ["ltiaas_auth.error"]
        start_response(f"{error.status} Custom", [("Content-Type", "text/plain")])
        return [f"custom {error.code}".encode()]

    middleware = LtiaasMiddleware(app, fake.config(), error_app=error_app)
    environ = wsgi_environ(headers={"Authorization": f"Bearer {fake.launch()}"})
    status, _, body = call_wsgi(middleware, environ)  # its start_response takes exc_info, as servers do
    assert (status, body) == (403, b"custom ROLE_REQUIRED")


def test_asgi_error_app_renders_an_error_raised_in_the_app(fake: FakeLtiaas) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RoleRequired()

    async def error_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        error = scope["ltiaas_auth.error"]
        await send({"type": "http.response.start", "status": error.status, "headers": []})
        await send({"type": "http.response.body", "body": f"custom {error.code}".encode()})

    middleware = LtiaasASGIMiddleware(app, config=fake.config(), error_app=error_app)
    status, _, body = get_asgi(middleware, "/", fake.launch(), {})
    assert (status, body) == (403, "custom ROLE_REQUIRED")
