"""Upstream faults under load: LTIAAS answering 5xx, 429 with ``Retry-After``, HTML from a proxy, dropping
connections or answering too slowly, while many concurrent requests hit an app behind the real middleware.

Through WSGI (a threaded werkzeug server on 127.0.0.1, driven by a thread pool) and ASGI
(``httpx.ASGITransport``, requests gathered on one loop), each with ``prefetch_idtoken`` on and off:

- no stampede: each launch's idtoken is fetched successfully at most once, and every other upstream call
  is one of the injected faults (fetches <= distinct launches + failures);
- prefetch off: never a 5xx; the app's view meets the ``UpstreamError`` and handles it;
- prefetch on: a 200 that names the request's own launch, or a 502 ``UPSTREAM_UNAVAILABLE`` in LTIAAS's
  error shape, with nothing of LTIAAS's answer (or the API key) passed on;
- failures are never cached: once LTIAAS recovers, every launch gets its idtoken.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from helpers import Message, Scope
from werkzeug.serving import WSGIRequestHandler, make_server

from ltiaas_auth import (
    LtiaasASGIMiddleware,
    LtiaasConfig,
    LtiaasMiddleware,
    UpstreamError,
    current_launch,
    parse_ltik,
)
from ltiaas_auth.testing import FakeLtiaas

LAUNCHES = 24
REQUESTS = 240
BURST = 4  # consecutive requests for one launch, so concurrent callers meet on one in-flight fetch
CLIENTS = 16
PROXY_PAGE = "<html><body>502 Bad Gateway from the proxy</body></html>"


# --- the app, the same for WSGI and ASGI: it names its launch and reads the idtoken --------------------


def answer(idtoken: dict[str, Any] | None, error: UpstreamError | None) -> dict[str, Any]:
    launch = current_launch()
    return {
        "ltik": launch.ltik.fingerprint,
        "user": idtoken["user"]["id"] if idtoken else None,
        "upstream": None if error is None else [error.upstream_status, error.code],
    }


def wsgi_view(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Reads the idtoken and handles ``UpstreamError``, as a view should when prefetch is off."""
    try:
        payload = answer(current_launch().idtoken(), None)
    except UpstreamError as error:
        payload = answer(None, error)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(payload).encode()]


async def asgi_view(scope: Scope, receive: Callable[[], Any], send: Callable[[Message], Any]) -> None:
    try:
        payload = answer(await current_launch().aidtoken(), None)
    except UpstreamError as error:
        payload = answer(None, error)
    body = json.dumps(payload).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No request log."""


@contextmanager
def serving(app: Callable[..., Iterable[bytes]]) -> Iterator[str]:
    """A threaded werkzeug server on 127.0.0.1, always stopped."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass(frozen=True)
class Reply:
    launch: int
    status: int
    headers: dict[str, str]
    body: bytes


def plan(requests: int = REQUESTS, launches: int = LAUNCHES, burst: int = BURST) -> list[int]:
    """Which launch each request carries: bursts of ``burst`` in a row, cycling through the launches."""
    return [(index // burst) % launches for index in range(requests)]


def drive_wsgi(app: Callable[..., Iterable[bytes]], ltiks: list[str], order: list[int]) -> list[Reply]:
    with (
        serving(app) as base,
        httpx.Client(timeout=30, trust_env=False, limits=httpx.Limits(max_connections=CLIENTS)) as client,
        ThreadPoolExecutor(CLIENTS) as pool,
    ):

        def one(which: int) -> Reply:
            response = client.get(f"{base}/", headers={"Authorization": f"Bearer {ltiks[which]}"})
            return Reply(which, response.status_code, dict(response.headers), response.content)

        return list(pool.map(one, order))


def drive_asgi(app: Any, ltiks: list[str], order: list[int]) -> list[Reply]:
    async def run() -> list[Reply]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:

            async def one(which: int) -> Reply:
                response = await client.get("/", headers={"Authorization": f"Bearer {ltiks[which]}"})
                return Reply(which, response.status_code, dict(response.headers), response.content)

            return await asyncio.wait_for(asyncio.gather(*(one(which) for which in order)), 60)

    return asyncio.run(run())


def build(kind: str, config: LtiaasConfig, prefetch: bool) -> Callable[[list[str], list[int]], list[Reply]]:
    if kind == "wsgi":
        wsgi = LtiaasMiddleware(wsgi_view, config, prefetch_idtoken=prefetch)
        return lambda ltiks, order: drive_wsgi(wsgi, ltiks, order)
    asgi = LtiaasASGIMiddleware(asgi_view, config=config, prefetch_idtoken=prefetch)
    return lambda ltiks, order: drive_asgi(asgi, ltiks, order)


# --- checks ---------------------------------------------------------------------------------------------


def check_replies(
    replies: list[Reply], fake: FakeLtiaas, ltiks: list[str], *, prefetch: bool, upstream_seen: set[Any]
) -> dict[int, int]:
    """Every answer is a 200 naming its own launch (degraded or not), or, with prefetch, a clean 502."""
    statuses: dict[int, int] = {}
    for reply in replies:
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        assert fake.api_key.encode() not in reply.body
        assert b"Bad Gateway from the proxy" not in reply.body
        # LTIAAS's Retry-After is passed on with the 502 of its 429 (RateLimited), never made up.
        assert reply.headers.get("retry-after") in (None, "30")
        if reply.status == 200:
            body = json.loads(reply.body)
            assert body["ltik"] == parse_ltik(ltiks[reply.launch]).fingerprint, "another launch's answer"
            if body["upstream"] is None:
                assert body["user"] == f"user-{reply.launch}"
            else:
                assert not prefetch, "prefetch let a failed launch through"
                upstream_seen.add(tuple(body["upstream"]))
        else:
            assert prefetch, f"a {reply.status} without prefetch"
            assert reply.status == 502
            assert json.loads(reply.body) == {
                "status": 502,
                "error": "Bad Gateway",
                "details": {
                    "message": "UPSTREAM_UNAVAILABLE",
                    "description": "LTIAAS could not complete the request; try again in a moment.",
                },
            }
            assert reply.headers["cache-control"] == "no-store"
    return statuses


def idtoken_calls(fake: FakeLtiaas) -> tuple[list[str | None], list[str | None]]:
    """The authorizations of successful and failed idtoken calls LTIAAS saw (None status: dropped)."""
    calls = [call for call in fake.calls if call.path == "/api/idtoken"]
    return (
        [call.authorization for call in calls if call.status == 200],
        [call.authorization for call in calls if call.status != 200],
    )


def recover(drive: Callable[[list[str], list[int]], list[Reply]], fake: FakeLtiaas, ltiks: list[str]) -> None:
    """LTIAAS is healthy again: every launch now gets its idtoken, failed ones fetched anew."""
    fake.latency = 0
    before = len(fake.calls)
    replies = drive(ltiks, list(range(len(ltiks))))
    assert [reply.status for reply in replies] == [200] * len(ltiks)
    assert [json.loads(reply.body)["user"] for reply in replies] == [f"user-{i}" for i in range(len(ltiks))]
    # Each launch not yet cached is fetched once now. (A fetch given up on while LTIAAS was slow can still
    # have been answered 200 late, on a loaded machine: the fake records it, the cache never saw it.)
    fetched = [call.authorization for call in fake.calls[before:] if call.path == "/api/idtoken"]
    assert len(fetched) == len(set(fetched)) <= len(ltiks)
    assert all(call.status == 200 for call in fake.calls[before:])


def inject(fake: FakeLtiaas) -> int:
    """A mix of faults for the next upstream calls, in this order; returns how many."""
    fake.fail_next(503, count=3)
    fake.fail_next(429, count=3, headers={"Retry-After": "30"})
    fake.fail_next(502, count=2, body=PROXY_PAGE)
    fake.drop_next(2)
    fake.fail_next(500, count=2)
    return 12


SCENARIOS = [
    pytest.param("wsgi", False, id="wsgi-prefetch-off"),
    pytest.param("wsgi", True, id="wsgi-prefetch-on"),
    pytest.param("asgi", False, id="asgi-prefetch-off"),
    pytest.param("asgi", True, id="asgi-prefetch-on"),
]


@pytest.mark.parametrize(("kind", "prefetch"), SCENARIOS)
def test_faults_under_load(kind: str, prefetch: bool) -> None:
    with FakeLtiaas() as fake:
        config = fake.config(timeout=5)
        drive = build(kind, config, prefetch)
        ltiks = [fake.launch(user_id=f"user-{index}") for index in range(LAUNCHES)]
        injected = inject(fake)
        fake.latency = 0.02  # slow enough that bursts pile up on one in-flight fetch

        upstream_seen: set[Any] = set()
        replies = drive(ltiks, plan())
        statuses = check_replies(replies, fake, ltiks, prefetch=prefetch, upstream_seen=upstream_seen)

        succeeded, failed = idtoken_calls(fake)
        assert len(failed) == injected  # every fault was met once: none retried, none caused another call
        assert len(succeeded) == len(set(succeeded)) <= LAUNCHES  # no launch fetched successfully twice
        assert config.cache_info().fetches == len(succeeded) + len(failed) <= LAUNCHES + injected
        if prefetch:
            assert statuses.get(502, 0) >= 1
            assert statuses[200] + statuses[502] == REQUESTS
        else:
            assert statuses == {200: REQUESTS}
            # The view saw LTIAAS's own statuses and codes: 503/500 and 429 in its error shape, the proxy's
            # 502 page (no LTIAAS body: UPSTREAM_UNAVAILABLE), the dropped connection (no status at all).
            assert upstream_seen <= {
                (503, "SERVICE_UNAVAILABLE"),
                (500, "INTERNAL_SERVER_ERROR"),
                (429, "RATE_LIMITED"),  # RateLimited has a code of its own
                (502, "UPSTREAM_UNAVAILABLE"),
                (None, "UPSTREAM_UNAVAILABLE"),
            }
            assert (503, "SERVICE_UNAVAILABLE") in upstream_seen
        recover(drive, fake, ltiks)


@pytest.mark.parametrize(("kind", "prefetch"), SCENARIOS)
def test_slow_upstream_times_out_without_a_stampede(kind: str, prefetch: bool) -> None:
    """LTIAAS answers after the configured timeout: each burst of concurrent requests for a launch shares
    one fetch that times out, the requests are answered (502, or the view's fallback) instead of hanging,
    and nothing is cached until LTIAAS is fast again."""
    launches, burst = 6, 4
    with FakeLtiaas() as fake:
        config = fake.config(timeout=0.5)
        drive = build(kind, config, prefetch)
        ltiks = [fake.launch(user_id=f"user-{index}") for index in range(launches)]
        fake.latency = 1.5
        order = [
            which for which in range(launches) for _ in range(burst)
        ]  # all of a launch's requests at once

        upstream_seen: set[Any] = set()
        replies = drive(ltiks, order)
        statuses = check_replies(replies, fake, ltiks, prefetch=prefetch, upstream_seen=upstream_seen)
        assert statuses == ({502: len(order)} if prefetch else {200: len(order)})
        if not prefetch:
            assert upstream_seen == {(None, "UPSTREAM_UNAVAILABLE")}
        fetches = config.cache_info().fetches
        assert launches <= fetches < len(order)  # concurrent callers shared fetches
        assert config.cache_info().size == 0
        recover(drive, fake, ltiks)
