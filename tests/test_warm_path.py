"""The warm path with the default options (prefetch on): once a launch is confirmed and its token parsed,
a request carrying it asks LTIAAS nothing and reads no shared store, yet every rule still holds.

The store is a real ``RedisIdtokenStore`` behind a proxy that records every call; LTIAAS is the real
``FakeLtiaas``, whose ``calls`` are what it answered. Nothing here is timed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from helpers import asgi_probe, asgi_scope, call_asgi, call_wsgi, wsgi_environ, wsgi_probe
from redis_server import redis_stores, shared_redis

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasMiddleware, UpstreamError
from ltiaas_auth.testing import FakeLtiaas

WARM_REQUESTS = 50


class RecordingStore:
    """A real idtoken store that notes the name of every method called on it."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def recorded(*args: Any) -> Any:
            self.calls.append(name)
            return method(*args)

        return recorded


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with shared_redis() as running:
        yield running


@pytest.fixture
def store(server: Any, request: pytest.FixtureRequest) -> Iterator[RecordingStore]:
    with redis_stores(server.url, f"warm:{request.node.name}:", delete_keys=True) as make:
        yield RecordingStore(make())


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as running:
        yield running


def carrying(ltik: str, where: str) -> dict[str, Any]:
    """``wsgi_environ`` keywords for a request whose ltik is in ``where``."""
    if where == "query":
        return {"query": f"ltik={ltik}"}
    return {"headers": {"Authorization": f"Bearer {ltik}"}}


def scope_carrying(ltik: str, where: str, path: str = "/") -> dict[str, Any]:
    if where == "query":
        return asgi_scope(path, query=f"ltik={ltik}".encode())
    return asgi_scope(path, headers=[(b"authorization", f"Bearer {ltik}".encode())])


@pytest.mark.parametrize(
    "where", [pytest.param("authorization", id="bearer"), pytest.param("query", id="query")]
)
def test_warm_wsgi_requests_ask_ltiaas_nothing_and_read_no_store(
    fake: FakeLtiaas, store: RecordingStore, where: str
) -> None:
    app = LtiaasMiddleware(wsgi_probe, fake.config(idtoken_store=store))
    ltik = fake.launch()
    status, _, body = call_wsgi(app, wsgi_environ(**carrying(ltik, where)))
    assert status == 200
    fingerprint = json.loads(body)["launch"]
    assert [call.path for call in fake.calls] == ["/api/idtoken"]  # the one confirmation
    assert store.calls  # it went through the shared store
    store.calls.clear()
    for _ in range(WARM_REQUESTS):
        status, headers, body = call_wsgi(app, wsgi_environ(**carrying(ltik, where)))
        assert (status, json.loads(body)["launch"]) == (200, fingerprint)
        if where == "query":
            assert (headers["referrer-policy"], headers["cache-control"]) == ("no-referrer", "private")
    assert len(fake.calls) == 1
    assert store.calls == []


@pytest.mark.parametrize(
    "where", [pytest.param("authorization", id="bearer"), pytest.param("query", id="query")]
)
def test_warm_asgi_requests_ask_ltiaas_nothing_and_read_no_store(
    fake: FakeLtiaas, store: RecordingStore, where: str
) -> None:
    app = LtiaasASGIMiddleware(asgi_probe, config=fake.config(idtoken_store=store))
    ltik = fake.launch()

    async def run() -> list[Any]:
        return [await call_asgi(app, scope_carrying(ltik, where)) for _ in range(1 + WARM_REQUESTS)]

    first, *warm = asyncio.run(run())
    assert first.status == 200
    assert [call.path for call in fake.calls] == ["/api/idtoken"]
    assert all(response.json()["launch"] == first.json()["launch"] for response in warm)
    if where == "query":
        assert {(r.headers["referrer-policy"], r.headers["cache-control"]) for r in warm} == {
            ("no-referrer", "private")
        }
    # Only the first request touched the store (it ran first, in the list above).
    assert store.calls
    assert len(fake.calls) == 1


def test_the_warm_path_reads_no_store_after_the_first_request(
    fake: FakeLtiaas, store: RecordingStore
) -> None:
    """ASGI, counted between requests: nothing after the confirmation."""
    app = LtiaasASGIMiddleware(asgi_probe, config=fake.config(idtoken_store=store))
    ltik = fake.launch()

    async def run() -> list[int]:
        await call_asgi(app, scope_carrying(ltik, "authorization"))
        counts = []
        for _ in range(WARM_REQUESTS):
            store.calls.clear()
            assert (await call_asgi(app, scope_carrying(ltik, "authorization"))).status == 200
            counts.append(len(store.calls))
        return counts

    assert set(asyncio.run(run())) == {0}
    assert len(fake.calls) == 1


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_cached_token_keeps_ageing(fake: FakeLtiaas) -> None:
    """The warm path reads the clock on every request: past its expiry the same token is refused, locally."""
    clock = Clock()
    config = fake.config(clock=clock)
    wsgi = LtiaasMiddleware(wsgi_probe, config)
    asgi = LtiaasASGIMiddleware(asgi_probe, config=config)
    ltik = fake.launch()
    assert call_wsgi(wsgi, wsgi_environ(**carrying(ltik, "authorization")))[0] == 200
    assert asyncio.run(call_asgi(asgi, scope_carrying(ltik, "authorization"))).status == 200
    clock.now += 2 * 86400  # past the fake's one-day ltik lifetime
    status, _, body = call_wsgi(wsgi, wsgi_environ(**carrying(ltik, "authorization")))
    assert (status, json.loads(body)["details"]["message"]) == (401, "LTIK_EXPIRED")
    response = asyncio.run(call_asgi(asgi, scope_carrying(ltik, "authorization")))
    assert (response.status, response.json()["details"]["message"]) == (401, "LTIK_EXPIRED")
    assert len(fake.calls) == 1


@pytest.mark.parametrize(
    ("shape", "status", "launched"),
    [
        pytest.param(
            lambda t, o: {"Authorization": f"Bearer {t}", "X-Ltik": o}, 400, False, id="other-x-ltik"
        ),
        pytest.param(lambda t, o: {"Authorization": f"Bearer {t}", "X-Ltik": t}, 200, True, id="same-x-ltik"),
        pytest.param(lambda t, o: {"Authorization": f"Bearer  {t} "}, 200, True, id="spaced-bearer"),
        pytest.param(lambda t, o: {"Authorization": f"bearer {t}"}, 200, True, id="lowercase-scheme"),
        pytest.param(lambda t, o: {"Authorization": f"Basic {t}"}, 401, False, id="other-scheme"),
    ],
)
def test_a_warm_token_in_other_company_meets_every_rule(
    fake: FakeLtiaas, shape: Callable[[str, str], dict[str, str]], status: int, launched: bool
) -> None:
    """What the warm path does not take is decided by the general rules, for a token already warm."""
    wsgi = LtiaasMiddleware(wsgi_probe, fake.config())
    asgi = LtiaasASGIMiddleware(asgi_probe, config=fake.config())
    ltik, other = fake.launch(), fake.launch()
    assert call_wsgi(wsgi, wsgi_environ(headers={"Authorization": f"Bearer {ltik}"}))[0] == 200
    headers = shape(ltik, other)
    got, _, body = call_wsgi(wsgi, wsgi_environ(headers=headers))
    assert (got, json.loads(body).get("launch") is not None) == (status, launched)

    async def run() -> Any:
        await call_asgi(asgi, asgi_scope(headers=[(b"authorization", f"Bearer {ltik}".encode())]))
        return await call_asgi(
            asgi,
            asgi_scope(headers=[(name.lower().encode(), value.encode()) for name, value in headers.items()]),
        )

    response = asyncio.run(run())
    assert (response.status, response.json().get("launch") is not None) == (status, launched)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param("ltik={t}&ltik={o}", 400, id="two-in-the-query"),
        pytest.param("ltik={t}&page=2", 200, id="another-field"),
        pytest.param("%6Ctik={t}", 200, id="escaped-name"),
        pytest.param("ltik={t}", 400, id="also-in-bearer"),
    ],
)
def test_a_warm_token_in_the_query_meets_every_rule(fake: FakeLtiaas, query: str, status: int) -> None:
    wsgi = LtiaasMiddleware(wsgi_probe, fake.config())
    ltik, other = fake.launch(), fake.launch()
    assert call_wsgi(wsgi, wsgi_environ(query=f"ltik={ltik}"))[0] == 200
    headers = {"Authorization": f"Bearer {other}"} if query == "ltik={t}" else {}
    got, answered, _ = call_wsgi(wsgi, wsgi_environ(query=query.format(t=ltik, o=other), headers=headers))
    assert got == status
    assert answered["cache-control"] in ("private", "no-store")  # the URL carried an ltik either way
    assert answered["referrer-policy"] == "no-referrer"


def test_exempt_paths_and_preflights_stay_untouched_for_a_warm_token(fake: FakeLtiaas) -> None:
    wsgi = LtiaasMiddleware(wsgi_probe, fake.config(), exempt=["/static/*"])
    ltik = fake.launch()
    bearer = {"Authorization": f"Bearer {ltik}"}
    assert call_wsgi(wsgi, wsgi_environ(headers=bearer))[0] == 200
    _, _, body = call_wsgi(wsgi, wsgi_environ("/static/app.js", headers=bearer))
    assert json.loads(body)["launch"] is None
    preflight = {**bearer, "Origin": "https://tool.example", "Access-Control-Request-Method": "POST"}
    _, _, body = call_wsgi(wsgi, wsgi_environ(method="OPTIONS", headers=preflight))
    assert json.loads(body)["launch"] is None


def framework_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A framework's error handling: whatever the view raises becomes its own bare 500."""
    try:
        if environ["PATH_INFO"] == "/upstream":
            raise UpstreamError("LTIAAS is down")
        if environ["PATH_INFO"] == "/bug":
            raise RuntimeError("a bug of the app's own")
    except Exception:
        start_response("500 Internal Server Error", [("Content-Type", "text/html")])
        return [b"<h1>Server Error</h1>"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_wsgi_each_request_answers_its_own_error_in_a_reused_context(fake: FakeLtiaas) -> None:
    """The error slot a context keeps between requests is the current request's only."""
    app = LtiaasMiddleware(framework_wsgi, fake.config())
    bearer = {"Authorization": f"Bearer {fake.launch()}"}
    statuses = [
        call_wsgi(app, wsgi_environ(path, headers=bearer))[0] for path in ("/", "/upstream", "/bug", "/")
    ]
    assert statuses == [200, 502, 500, 200]


async def framework_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """As ``framework_wsgi``; ``/upstream`` fails while ``/bug`` is in progress, ``/bug`` after it."""
    status = 200
    try:
        if scope["path"] == "/upstream":
            await asyncio.sleep(0.02)
            raise UpstreamError("LTIAAS is down")
        if scope["path"] == "/bug":
            await asyncio.sleep(0.1)
            raise RuntimeError("a bug of the app's own")
    except Exception:
        status = 500
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
    )
    await send({"type": "http.response.body", "body": b"answer"})


def test_asgi_concurrent_requests_from_one_context_keep_their_own_errors(fake: FakeLtiaas) -> None:
    """Tasks copied from a context that already served a request share its slot holder: a request that
    starts while another is in progress gets one of its own, so neither answers the other's error."""
    app = LtiaasASGIMiddleware(framework_asgi, config=fake.config())
    bearer = [(b"authorization", f"Bearer {fake.launch()}".encode())]

    async def run() -> list[int]:
        assert (await call_asgi(app, asgi_scope("/", headers=bearer))).status == 200  # in this task's context
        upstream, bug = await asyncio.gather(
            call_asgi(app, asgi_scope("/upstream", headers=bearer)),
            call_asgi(app, asgi_scope("/bug", headers=bearer)),
        )
        return [upstream.status, bug.status, (await call_asgi(app, asgi_scope("/", headers=bearer))).status]

    assert asyncio.run(run()) == [502, 500, 200]
