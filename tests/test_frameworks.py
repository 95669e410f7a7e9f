"""Real apps behind the middleware: Flask, Django (WSGI and ASGI), Starlette and FastAPI.

Every view answers with ``auth_header()`` and the launch it found both ways (``current_launch()`` and the
environ/scope key), so each test checks that every request got its own launch and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import path
from django_helpers import configure_django
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from flask import Flask, Response, jsonify, stream_with_context
from flask import request as flask_request
from helpers import API_KEY, CONFIG
from ltik_factory import fresh_ltik
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.responses import StreamingResponse as StarletteStreamingResponse
from starlette.routing import Route
from werkzeug.middleware.lint import LintMiddleware
from werkzeug.test import Client

from ltiaas_auth import (
    LtiaasASGIMiddleware,
    LtiaasMiddleware,
    auth_header,
    current_launch,
    ltik_authorization,
)

LTIKS = [fresh_ltik(n=index) for index in range(10)]


def report(key_launch: Any) -> dict[str, Any]:
    launch = current_launch()
    return {
        "auth": auth_header(),
        "launch": launch.ltik.fingerprint,
        "key": key_launch.ltik.fingerprint if key_launch is not None else None,
    }


def check(body: dict[str, Any], ltik: str) -> None:
    assert body["auth"] == ltik_authorization(API_KEY, ltik)
    assert body["launch"] == body["key"]


def stream_lines(text: str, ltik: str) -> None:
    assert text.splitlines() == [ltik_authorization(API_KEY, ltik)] * 3


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def hammer(app: Any, paths: list[str], requests: int = 60) -> list[str]:
    """Concurrent requests through ``httpx.ASGITransport``; the paths whose answer named another launch."""
    mismatches: list[str] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:

        async def one(index: int) -> None:
            ltik = LTIKS[index % len(LTIKS)]
            route = paths[index % len(paths)]
            response = await client.get(route, headers={"Authorization": f"Bearer {ltik}"})
            if response.status_code != 200:
                mismatches.append(f"{route}: {response.status_code}")
            elif route.endswith("stream"):
                if response.text.splitlines() != [ltik_authorization(API_KEY, ltik)] * 3:
                    mismatches.append(route)
            else:
                body = response.json()
                if body["auth"] != ltik_authorization(API_KEY, ltik) or body["launch"] != body["key"]:
                    mismatches.append(route)

        async with anyio.create_task_group() as group:
            for index in range(requests):
                group.start_soon(one, index)
    return mismatches


# --- Flask ---------------------------------------------------------------------------------------------


def make_flask() -> Flask:
    app = Flask("flask_probe")

    @app.get("/")
    def home() -> Response:
        return jsonify(report(flask_request.environ.get("ltiaas_auth.launch")))

    @app.get("/stream")
    def stream() -> Response:
        def lines() -> Iterator[str]:
            for _ in range(3):
                yield auth_header() + "\n"

        return Response(stream_with_context(lines()), mimetype="text/plain")

    app.wsgi_app = LtiaasMiddleware(app.wsgi_app, CONFIG, prefetch_idtoken=False)  # type: ignore[method-assign]
    return app


def test_flask() -> None:
    app = make_flask()
    client = Client(LintMiddleware(app))
    for ltik in LTIKS:
        with client.get("/", headers={"Authorization": f"Bearer {ltik}"}) as response:
            check(response.json, ltik)
        with client.get("/stream", query_string={"ltik": ltik}) as response:
            stream_lines(response.get_data(as_text=True), ltik)
            assert response.headers["Referrer-Policy"] == "no-referrer"
    with client.get("/") as response:
        assert response.status_code == 401


def test_flask_test_client() -> None:
    """Flask's own test client drives the wrapped ``wsgi_app`` too."""
    client = make_flask().test_client()
    ltik = LTIKS[0]
    response = client.get("/stream", headers={"X-Ltik": ltik}, buffered=False)
    try:
        stream_lines(b"".join(response.response).decode(), ltik)
    finally:
        response.close()


# --- Django --------------------------------------------------------------------------------------------


def dj_home(request: HttpRequest) -> JsonResponse:
    scope = getattr(request, "scope", None)
    key = scope.get("ltiaas_auth.launch") if scope is not None else request.META.get("ltiaas_auth.launch")
    return JsonResponse(report(key))


async def dj_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse(report(request.scope["ltiaas_auth.launch"]))  # type: ignore[attr-defined]


def dj_stream(request: HttpRequest) -> StreamingHttpResponse:
    def lines() -> Iterator[str]:
        for _ in range(3):
            yield auth_header() + "\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")


async def dj_astream(request: HttpRequest) -> StreamingHttpResponse:
    async def lines() -> AsyncIterator[str]:
        for _ in range(3):
            await asyncio.sleep(0)
            yield auth_header() + "\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")


urlpatterns = [
    path("", dj_home),
    path("async", dj_async),
    path("stream", dj_stream),
    path("astream", dj_astream),
]


@pytest.fixture(scope="module")
def django_ready() -> None:
    configure_django(__name__)


def test_django_wsgi(django_ready: None) -> None:
    from django.core.wsgi import get_wsgi_application

    client = Client(LintMiddleware(LtiaasMiddleware(get_wsgi_application(), CONFIG, prefetch_idtoken=False)))
    for ltik in LTIKS:
        with client.get("/", headers={"Authorization": f"Bearer {ltik}"}) as response:
            check(response.json, ltik)
        with client.get("/stream", headers={"X-Ltik": ltik}) as response:
            stream_lines(response.get_data(as_text=True), ltik)
    with client.get("/") as response:
        assert response.status_code == 401


def test_django_asgi(django_ready: None) -> None:
    from django.core.asgi import get_asgi_application

    app = LtiaasASGIMiddleware(get_asgi_application(), config=CONFIG, prefetch_idtoken=False)
    # Django's ASGI handler is asyncio-only; sync views run in asgiref's thread, in the request's context.
    assert asyncio.run(hammer(app, ["/", "/async", "/astream"])) == []


# --- Starlette and FastAPI --------------------------------------------------------------------------------


def make_starlette() -> Starlette:
    async def home(request: StarletteRequest) -> JSONResponse:
        return JSONResponse(report(request.scope["ltiaas_auth.launch"]))

    def sync_home(request: StarletteRequest) -> JSONResponse:  # run in the threadpool
        return JSONResponse(report(request.scope["ltiaas_auth.launch"]))

    async def stream(request: StarletteRequest) -> StarletteStreamingResponse:
        async def lines() -> AsyncIterator[str]:
            for _ in range(3):
                await anyio.sleep(0)
                yield auth_header() + "\n"

        return StarletteStreamingResponse(lines(), media_type="text/plain")

    return Starlette(
        routes=[Route("/", home), Route("/sync", sync_home), Route("/stream", stream)],
        middleware=[Middleware(LtiaasASGIMiddleware, config=CONFIG, prefetch_idtoken=False)],
    )


def make_fastapi() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def home(request: Request) -> dict[str, Any]:
        return report(request.scope["ltiaas_auth.launch"])

    @app.get("/sync")
    def sync_home(request: Request) -> dict[str, Any]:  # a plain def: FastAPI runs it in the threadpool
        return report(request.scope["ltiaas_auth.launch"])

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def lines() -> AsyncIterator[str]:
            for _ in range(3):
                await anyio.sleep(0)
                yield auth_header() + "\n"

        return StreamingResponse(lines(), media_type="text/plain")

    @app.middleware("http")
    async def inner(request: Request, call_next: Callable[[Request], Any]) -> Any:
        # A BaseHTTPMiddleware inside ours still sees the launch: ours runs outermost.
        response = await call_next(request)
        response.headers["x-launch"] = current_launch().ltik.fingerprint
        return response

    app.add_middleware(LtiaasASGIMiddleware, config=CONFIG, prefetch_idtoken=False)
    return app


@pytest.mark.anyio
@pytest.mark.parametrize("factory", [make_starlette, make_fastapi], ids=["starlette", "fastapi"])
async def test_starlette_and_fastapi(factory: Callable[[], Any], anyio_backend: str) -> None:
    assert await hammer(factory(), ["/", "/sync", "/stream"], requests=90) == []


@pytest.mark.anyio
async def test_fastapi_rejections_and_inner_middleware(anyio_backend: str) -> None:
    transport = httpx.ASGITransport(app=make_fastapi())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        missing = await client.get("/")
        ltik = LTIKS[3]
        found = await client.get("/sync", params={"ltik": ltik})
    assert missing.status_code == 401
    assert missing.json()["details"]["message"] == "MISSING_LTIK"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert found.status_code == 200
    check(found.json(), ltik)
    assert found.headers["x-launch"] == found.json()["launch"]
    assert found.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in found.headers
