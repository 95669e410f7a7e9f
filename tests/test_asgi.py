"""``LtiaasASGIMiddleware`` through asgiref's ``ApplicationCommunicator``, ``httpx.ASGITransport`` on asyncio
and trio, and direct calls; FakeLtiaas for ``prefetch_idtoken``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from asgiref.testing import ApplicationCommunicator
from helpers import (
    API_KEY,
    CONFIG,
    Message,
    Scope,
    asgi_probe,
    asgi_scope,
    call_asgi,
    closed_port,
    idtoken_fetches,
    seen,
)
from ltik_factory import fresh_ltik, make_ltik

from ltiaas_auth import (
    LtiaasASGIMiddleware,
    LtiaasConfig,
    auth_header,
    current_launch,
    launch_context,
    ltik_authorization,
)
from ltiaas_auth.context import credential_var
from ltiaas_auth.testing import FakeLtiaas


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def bearer(ltik: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {ltik}".encode())]


# --- asgiref's ApplicationCommunicator: http, websocket, lifespan -------------------------------------------


async def communicate_http(app: Any, scope: Scope) -> tuple[Message, Message]:
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    await communicator.wait(5)
    return start, body


def test_communicator_http() -> None:
    ltik = fresh_ltik()
    start, body = run(
        communicate_http(
            LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False),
            asgi_scope(headers=bearer(ltik)),
        )
    )
    assert start["status"] == 200
    got = json.loads(body["body"])
    assert got["auth"] == ltik_authorization(API_KEY, ltik)
    assert got["launch"] == got["key"]


def test_communicator_rejection() -> None:
    start, body = run(
        communicate_http(
            LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False), asgi_scope()
        )
    )
    assert start["status"] == 401
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"cache-control"] == b"no-store"
    assert headers[b"www-authenticate"] == b"Bearer"
    assert b"set-cookie" not in headers
    assert json.loads(body["body"])["details"]["message"] == "MISSING_LTIK"


def test_lifespan_passes_through_untouched() -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scopes.append(scope)
        assert credential_var.get() is None
        await asgi_probe(scope, receive, send)

    async def go() -> list[Message]:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        communicator = ApplicationCommunicator(
            LtiaasASGIMiddleware(app, config=CONFIG, prefetch_idtoken=False), scope
        )
        await communicator.send_input({"type": "lifespan.startup"})
        started = await communicator.receive_output(5)
        await communicator.send_input({"type": "lifespan.shutdown"})
        stopped = await communicator.receive_output(5)
        await communicator.wait(5)
        return [started, stopped]

    assert [m["type"] for m in run(go())] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert scopes == [{"type": "lifespan", "asgi": {"version": "3.0"}}]


@pytest.mark.parametrize(
    ("headers", "query", "code"),
    [
        pytest.param([], b"", "MISSING_LTIK", id="missing"),
        pytest.param(bearer("garbage"), b"", "INVALID_LTIK", id="invalid"),
        pytest.param([], b"ltik=" + make_ltik(iat=1, exp=2).encode(), "LTIK_EXPIRED", id="expired-in-query"),
    ],
)
def test_websocket_refused_with_1008_without_accepting(
    headers: list[tuple[bytes, bytes]], query: bytes, code: str
) -> None:
    called: list[bool] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        called.append(True)

    async def go() -> Message:
        scope = asgi_scope("/ws", kind="websocket", headers=headers, query=query)
        communicator = ApplicationCommunicator(
            LtiaasASGIMiddleware(app, config=CONFIG, prefetch_idtoken=False), scope
        )
        await communicator.send_input({"type": "websocket.connect"})
        message = await communicator.receive_output(5)
        await communicator.wait(5)
        assert await communicator.receive_nothing()
        return message

    assert run(go()) == {"type": "websocket.close", "code": 1008, "reason": code}
    assert not called


@pytest.mark.parametrize("where", ["header", "query"])
def test_websocket_accepted_with_a_valid_ltik(where: str) -> None:
    ltik = fresh_ltik()

    async def go() -> list[Message]:
        scope = asgi_scope(
            "/ws",
            kind="websocket",
            headers=bearer(ltik) if where == "header" else [],
            query=f"ltik={ltik}".encode() if where == "query" else b"",
        )
        communicator = ApplicationCommunicator(
            LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False), scope
        )
        await communicator.send_input({"type": "websocket.connect"})
        messages = [await communicator.receive_output(5) for _ in range(3)]
        await communicator.wait(5)
        return messages

    accept, text, close = run(go())
    assert accept == {"type": "websocket.accept"}  # no headers added to the handshake
    assert json.loads(text["text"])["auth"] == ltik_authorization(API_KEY, ltik)
    assert close["type"] == "websocket.close"


def test_websocket_exempt_path_passes() -> None:
    async def go() -> Message:
        scope = asgi_scope("/ws/public", kind="websocket")
        app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False, exempt=("/ws/public",))
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "websocket.connect"})
        assert (await communicator.receive_output(5))["type"] == "websocket.accept"
        text = await communicator.receive_output(5)
        await communicator.receive_output(5)
        await communicator.wait(5)
        return text

    assert json.loads(run(go())["text"])["auth"] is None


# --- httpx.ASGITransport on asyncio and trio ---------------------------------------------------------------


async def streaming_probe(scope: Scope, receive: Any, send: Any) -> None:
    """Sends its body in several messages, reading the credential again for each one."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for _ in range(3):
        await anyio.sleep(0)
        await send({"type": "http.response.body", "body": auth_header().encode() + b"\n", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.anyio
async def test_httpx_concurrent_requests_each_see_their_own(anyio_backend: str) -> None:
    ltiks = [fresh_ltik() for _ in range(10)]
    mismatches: list[str] = []

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(
            app=LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False)
        ),
        base_url="http://testserver",
    ) as client:

        async def one(index: int) -> None:
            ltik = ltiks[index % len(ltiks)]
            response = await client.get("/", headers={"Authorization": f"Bearer {ltik}"})
            if response.json()["auth"] != ltik_authorization(API_KEY, ltik):
                mismatches.append(ltik)

        async with anyio.create_task_group() as group:
            for index in range(100):
                group.start_soon(one, index)
    assert mismatches == []
    assert credential_var.get() is None


@pytest.mark.anyio
async def test_httpx_streamed_body_sees_the_launch_to_the_end(anyio_backend: str) -> None:
    ltik = fresh_ltik()
    transport = httpx.ASGITransport(
        app=LtiaasASGIMiddleware(streaming_probe, config=CONFIG, prefetch_idtoken=False)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/", params={"ltik": ltik})
    assert response.text.splitlines() == [ltik_authorization(API_KEY, ltik)] * 3
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.anyio
async def test_httpx_same_task_requests_do_not_leak(anyio_backend: str) -> None:
    """ASGITransport runs the app in the caller's task: a leak would show in the next request."""
    transport = httpx.ASGITransport(
        app=LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False, require=False)
    )
    ltik = fresh_ltik()
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = await client.get("/", headers={"X-Ltik": ltik})
        assert credential_var.get() is None
        second = await client.get("/")
    assert first.json()["auth"] == ltik_authorization(API_KEY, ltik)
    assert second.json() == {"auth": None, "launch": None, "key": None, "body": ""}


# --- leaks, resets and the scope -------------------------------------------------------------------------


def test_two_calls_in_one_reused_context_do_not_leak() -> None:
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False, require=False)
    ltik = fresh_ltik()

    async def both() -> list[Any]:
        first = await call_asgi(app, asgi_scope(headers=bearer(ltik)))
        second = await call_asgi(app, asgi_scope())
        return [first.json()["auth"], second.json()["auth"], credential_var.get()]

    assert run(both()) == [ltik_authorization(API_KEY, ltik), None, None]


def test_a_credential_already_in_the_context_is_hidden_then_restored() -> None:
    app = LtiaasASGIMiddleware(
        asgi_probe, config=CONFIG, prefetch_idtoken=False, require=False, exempt=("/open",)
    )

    async def go() -> list[Any]:
        with launch_context(CONFIG, fresh_ltik()) as outer:
            inside = (await call_asgi(app, asgi_scope())).json()["auth"]
            passthrough = (await call_asgi(app, asgi_scope("/open"))).json()["auth"]
            return [inside, passthrough, credential_var.get() is outer]

    assert run(go()) == [None, None, True]


def test_app_raising_still_resets() -> None:
    async def broken(scope: Scope, receive: Any, send: Any) -> None:
        assert current_launch()
        raise RuntimeError("boom")

    async def go() -> None:
        with pytest.raises(RuntimeError, match="boom"):
            await call_asgi(
                LtiaasASGIMiddleware(broken, config=CONFIG, prefetch_idtoken=False),
                asgi_scope(headers=bearer(fresh_ltik())),
            )
        assert credential_var.get() is None

    run(go())


def test_scope_is_copied_not_mutated() -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await asgi_probe(scope, receive, send)

    ltik = fresh_ltik()
    original = asgi_scope(headers=bearer(ltik))
    snapshot = dict(original)
    response = run(call_asgi(LtiaasASGIMiddleware(app, config=CONFIG, prefetch_idtoken=False), original))
    assert response.status == 200
    assert original == snapshot
    assert scopes[0]["ltiaas_auth.launch"].ltik.raw == ltik
    assert scopes[0] is not original


def test_disconnect_while_buffering_is_passed_on() -> None:
    received: list[Message] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        received.append(await receive())
        received.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    inbox: list[Message] = [
        {"type": "http.request", "body": b'{"ltik": "', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    scope = asgi_scope(method="POST", headers=[(b"content-type", b"application/json")])
    middleware = LtiaasASGIMiddleware(
        app, config=CONFIG, prefetch_idtoken=False, sources=("json",), require=False
    )
    run(middleware(scope, receive, send))
    assert received == [
        {"type": "http.request", "body": b'{"ltik": "', "more_body": True},
        {"type": "http.disconnect"},
    ]


# --- Referrer-Policy, error_app ---------------------------------------------------------------------------


async def app_with_policy(scope: Scope, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"Referrer-Policy", b"origin")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize(
    ("app", "headers", "query", "expected"),
    [
        pytest.param(asgi_probe, [], "ltik", [b"no-referrer"], id="query-ltik"),
        pytest.param(asgi_probe, [], "bad", [b"no-referrer"], id="query-rejected"),
        pytest.param(asgi_probe, "bearer", "", [], id="header-ltik"),
        pytest.param(app_with_policy, [], "ltik", [b"origin"], id="apps-own-kept"),
    ],
)
def test_referrer_policy(app: Any, headers: Any, query: str, expected: list[bytes]) -> None:
    ltik = fresh_ltik()
    scope = asgi_scope(
        headers=bearer(ltik) if headers == "bearer" else [],
        query={"ltik": f"ltik={ltik}".encode(), "bad": b"ltik=bad", "": b""}[query],
    )
    response = run(call_asgi(LtiaasASGIMiddleware(app, config=CONFIG, prefetch_idtoken=False), scope))
    assert [value for name, value in response.raw_headers if name.lower() == b"referrer-policy"] == expected


def test_error_app() -> None:
    async def error_app(scope: Scope, receive: Any, send: Any) -> None:
        error = scope["ltiaas_auth.error"]
        body = json.dumps({"mine": error.code, "credential": credential_var.get() is not None}).encode()
        await send({"type": "http.response.start", "status": error.status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False, error_app=error_app)
    response = run(call_asgi(app, asgi_scope(query=b"ltik=x.y.z")))
    assert response.status == 401
    assert response.json() == {"mine": "INVALID_LTIK", "credential": False}
    assert response.headers["referrer-policy"] == "no-referrer"
    ltik = fresh_ltik()
    assert run(call_asgi(app, asgi_scope(headers=bearer(ltik)))).json()["auth"] == ltik_authorization(
        API_KEY, ltik
    )


def test_ambiguous_is_400_without_challenge() -> None:
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False)
    scope = asgi_scope(headers=[*bearer(fresh_ltik()), (b"x-ltik", fresh_ltik().encode())])
    response = run(call_asgi(app, scope))
    assert response.status == 400
    assert "www-authenticate" not in response.headers
    assert response.json()["details"]["message"] == "AMBIGUOUS_LTIK"


def test_a_cors_preflight_passes_through() -> None:
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False)
    preflight = [
        *bearer("broken"),
        (b"origin", b"https://tool.example"),
        (b"access-control-request-method", b"GET"),
    ]
    response = run(call_asgi(app, asgi_scope(method="OPTIONS", headers=preflight)))
    assert response.status == 200
    assert response.json()["auth"] is None


# --- prefetch_idtoken against FakeLtiaas (aidtoken() runs on asyncio) --------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def test_prefetch_valid(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch(user_id="async-user")

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        user = (await current_launch().aidtoken())["user"]["id"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": user.encode()})

    middleware = LtiaasASGIMiddleware(app, config=config, prefetch_idtoken=True)
    before = idtoken_fetches(fake)

    async def go() -> list[bytes]:
        return [(await call_asgi(middleware, asgi_scope(headers=bearer(ltik)))).body for _ in range(3)]

    assert run(go()) == [b"async-user"] * 3
    assert idtoken_fetches(fake) - before == 1


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        pytest.param("forged", 401, "INVALID_LTIK", id="refused-by-ltiaas"),
        pytest.param("fail-503", 502, "UPSTREAM_UNAVAILABLE", id="ltiaas-503"),
        pytest.param("fail-429", 502, "UPSTREAM_UNAVAILABLE", id="ltiaas-429"),
        pytest.param("closed-port", 502, "UPSTREAM_UNAVAILABLE", id="unreachable"),
    ],
)
def test_prefetch_failures(fake: FakeLtiaas, setup: str, status: int, code: str) -> None:
    config = fake.config()
    ltik = fake.launch()
    if setup == "forged":
        ltik = fresh_ltik()
    elif setup.startswith("fail-"):
        fake.fail_next(int(setup[5:]))
    else:
        config = LtiaasConfig(API_KEY, f"http://127.0.0.1:{closed_port()}", timeout=2)
    app = LtiaasASGIMiddleware(asgi_probe, config=config, prefetch_idtoken=True)
    response = run(call_asgi(app, asgi_scope(headers=bearer(ltik))))
    assert response.status == status
    assert response.json()["details"]["message"] == code
    assert ltik not in response.body.decode()
    assert response.headers["cache-control"] == "no-store"


def test_prefetch_failure_closes_a_websocket(fake: FakeLtiaas) -> None:
    fake.fail_next(503)
    app = LtiaasASGIMiddleware(asgi_probe, config=fake.config(), prefetch_idtoken=True)

    async def go() -> Message:
        communicator = ApplicationCommunicator(
            app, asgi_scope("/ws", kind="websocket", headers=bearer(fake.launch()))
        )
        await communicator.send_input({"type": "websocket.connect"})
        message = await communicator.receive_output(5)
        await communicator.wait(5)
        return message

    assert run(go()) == {"type": "websocket.close", "code": 1008, "reason": "UPSTREAM_UNAVAILABLE"}


def test_seen_helper_outside_a_request() -> None:
    """The probe helpers report 'no credential' rather than raising, which the leak tests rely on."""
    assert seen(None) == {"auth": None, "launch": None, "key": None, "body": ""}
