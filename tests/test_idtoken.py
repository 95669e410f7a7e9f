"""The idtoken cache against FakeLtiaas over HTTP: single flight, TTL, faults, and no secret in any error."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import idtoken_fetches
from recording_server import listening_socket

from ltiaas_auth import ExpiredLtik, LtiaasConfig, UpstreamError, launch_context
from ltiaas_auth.context import make_launch
from ltiaas_auth.testing import FakeLtiaas


class Clock:
    """A settable POSIX clock for the config."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    with FakeLtiaas() as server:
        yield server


def test_fetched_once_then_cached(fake):
    config = fake.config()
    ltik = fake.launch(user_id="u-1", context_id="c-1")
    launch = make_launch(config, ltik)
    first = launch.idtoken()
    assert first["user"]["id"] == "u-1"
    assert launch.idtoken() is first
    assert make_launch(config, ltik).idtoken() is first  # keyed by the token, not the Launch object
    assert idtoken_fetches(fake) == 1
    assert fake.calls[-1].authorization == f"LTIK-AUTH-V2 {fake.api_key}:{ltik}"
    assert config.cache_info() == (2, 1, 1, 1)


def test_64_threads_cause_one_fetch(fake):
    fake.latency = 0.2
    config = fake.config()
    launch = make_launch(config, fake.launch())
    barrier = threading.Barrier(64)

    def call(_: int) -> dict:
        barrier.wait()
        return launch.idtoken()

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(call, range(64)))
    assert idtoken_fetches(fake) == 1
    assert all(result is results[0] for result in results)
    assert config.cache_info().fetches == 1


def test_64_tasks_cause_one_fetch(fake):
    fake.latency = 0.2
    config = fake.config()
    launch = make_launch(config, fake.launch())

    async def main() -> list[dict]:
        return await asyncio.gather(*(launch.aidtoken() for _ in range(64)))

    results = asyncio.run(main())
    assert idtoken_fetches(fake) == 1
    assert all(result is results[0] for result in results)


def test_threads_and_tasks_share_one_fetch(fake):
    fake.latency = 0.3
    config = fake.config()
    launch = make_launch(config, fake.launch())

    async def tasks() -> list[dict]:
        return await asyncio.gather(*(launch.aidtoken() for _ in range(16)))

    with ThreadPoolExecutor(17) as pool:
        threads = [pool.submit(launch.idtoken) for _ in range(16)]
        loop_results = pool.submit(asyncio.run, tasks()).result()
        thread_results = [f.result() for f in threads]
    assert idtoken_fetches(fake) == 1
    assert all(r is thread_results[0] for r in thread_results + loop_results)


def test_distinct_launches_fetch_separately(fake):
    config = fake.config()
    launches = [make_launch(config, fake.launch(user_id=f"u{i}")) for i in range(5)]
    with ThreadPoolExecutor(10) as pool:
        users = list(pool.map(lambda i: launches[i % 5].idtoken()["user"]["id"], range(50)))
    assert users == [f"u{i % 5}" for i in range(50)]
    assert idtoken_fetches(fake) == 5


def test_entry_lives_idtoken_ttl_when_that_is_shorter(fake):
    clock = Clock()
    config = fake.config(idtoken_ttl=60, clock=clock)
    launch = make_launch(config, fake.launch())
    launch.idtoken()
    clock.now += 59
    launch.idtoken()
    assert idtoken_fetches(fake) == 1
    clock.now += 2
    launch.idtoken()
    assert idtoken_fetches(fake) == 2


def test_entry_lives_until_the_ltik_expires_when_that_is_sooner():
    with FakeLtiaas(ltik_lifetime=100) as fake:
        clock = Clock()
        config = fake.config(idtoken_ttl=3600, clock=clock)
        launch = make_launch(config, fake.launch())
        launch.idtoken()
        clock.now += 98
        launch.idtoken()
        assert idtoken_fetches(fake) == 1
        assert config.cache_info().size == 1
        clock.now += 5
        with pytest.raises(ExpiredLtik):
            launch.idtoken()
        assert idtoken_fetches(fake) == 1  # an expired ltik never reaches the network
        assert config.cache_info().size == 0


def test_an_expired_ltik_never_reaches_the_network(fake):
    ltik = fake.launch(issued_at=time.time() - 2 * 86400)
    config = fake.config()
    with pytest.raises(ExpiredLtik):
        launch_context(config, ltik)
    clock = Clock()
    clock.now -= 2 * 86400
    launch = make_launch(fake.config(clock=clock), ltik)
    clock.now += 2 * 86400
    with pytest.raises(ExpiredLtik):
        launch.idtoken()

    async def main() -> None:
        with pytest.raises(ExpiredLtik):
            await launch.aidtoken()

    asyncio.run(main())
    assert fake.calls == []


def test_idtoken_ttl_zero_turns_caching_off(fake):
    config = fake.config(idtoken_ttl=0)
    launch = make_launch(config, fake.launch())
    launch.idtoken()
    launch.idtoken()
    assert idtoken_fetches(fake) == 2
    assert config.cache_info().size == 0


def test_cache_is_bounded(fake):
    config = fake.config(cache_size=3)
    for i in range(6):
        make_launch(config, fake.launch(user_id=f"u{i}")).idtoken()
    assert config.cache_info().size == 3
    assert config.cache_info().fetches == 6


def test_cache_clear(fake):
    config = fake.config()
    launch = make_launch(config, fake.launch())
    launch.idtoken()
    config.cache_clear()
    launch.idtoken()
    assert idtoken_fetches(fake) == 2


def test_service_key(fake):
    config = fake.config()
    with_ags = make_launch(config, fake.launch(services=("assignmentAndGrades",)))
    without = make_launch(config, fake.launch(services=("deepLinking",)))
    key = with_ags.service_key()
    assert isinstance(key, str)
    assert key
    assert key == with_ags.idtoken()["services"]["serviceKey"]
    assert without.service_key() is None

    async def main() -> tuple[str | None, str | None]:
        return await with_ags.aservice_key(), await without.aservice_key()

    assert asyncio.run(main()) == (key, None)


def test_sync_idtoken_inside_an_event_loop_points_to_aidtoken(fake):
    launch = make_launch(fake.config(), fake.launch())
    launch.idtoken()  # even a cached read refuses: the rule must not depend on timing

    async def main() -> None:
        with pytest.raises(RuntimeError, match=r"aidtoken\(\)"):
            launch.idtoken()
        with pytest.raises(RuntimeError, match=r"aidtoken\(\)"):
            launch.service_key()

    asyncio.run(main())


def test_the_event_loop_keeps_serving_during_a_slow_fetch(fake):
    fake.latency = 0.5
    launch = make_launch(fake.config(), fake.launch())

    async def main() -> tuple[int, float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        started = time.perf_counter()
        await launch.aidtoken()
        elapsed = time.perf_counter() - started
        task.cancel()
        return ticks, elapsed

    ticks, elapsed = asyncio.run(main())
    assert elapsed >= 0.5
    assert ticks >= 10  # a blocked loop would have ticked at most once


def test_a_cancelled_caller_does_not_cancel_the_shared_fetch(fake):
    fake.latency = 0.3
    launch = make_launch(fake.config(), fake.launch())

    async def main() -> dict:
        leader = asyncio.create_task(launch.aidtoken())
        await asyncio.sleep(0.05)
        follower = asyncio.create_task(launch.aidtoken())
        await asyncio.sleep(0.05)
        leader.cancel()
        return await follower

    assert asyncio.run(main())["user"]["id"]
    assert idtoken_fetches(fake) == 1


def fault_500(fake: FakeLtiaas) -> None:
    fake.fail_next(500)


def fault_503_custom_body(fake: FakeLtiaas) -> None:
    fake.fail_next(
        503, body={"status": 503, "error": "Service Unavailable", "details": {"message": "MAINTENANCE"}}
    )


def fault_html_error(fake: FakeLtiaas) -> None:
    fake.fail_next(502, body="<html>bad gateway</html>")


def fault_non_json_success(fake: FakeLtiaas) -> None:
    fake.fail_next(200, body="this is not json")


def fault_json_array(fake: FakeLtiaas) -> None:
    fake.fail_next(200, body=[1, 2, 3])


def fault_dropped(fake: FakeLtiaas) -> None:
    fake.drop_next()


@pytest.mark.parametrize(
    ("inject", "upstream_status", "code", "has_body"),
    [
        pytest.param(fault_500, 500, None, True, id="500"),
        pytest.param(fault_503_custom_body, 503, "MAINTENANCE", True, id="503"),
        pytest.param(fault_html_error, 502, "UPSTREAM_UNAVAILABLE", False, id="non-json-error-body"),
        pytest.param(fault_non_json_success, 200, "UPSTREAM_UNAVAILABLE", False, id="non-json-body"),
        pytest.param(fault_json_array, 200, "UPSTREAM_UNAVAILABLE", False, id="json-not-an-object"),
        pytest.param(fault_dropped, None, "UPSTREAM_UNAVAILABLE", False, id="dropped-connection"),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_faults_raise_upstream_error_and_are_not_cached(
    fake, caplog, inject, upstream_status, code, has_body, mode
):
    caplog.set_level(logging.DEBUG)
    config = fake.config()
    ltik = fake.launch()
    launch = make_launch(config, ltik)
    inject(fake)
    with pytest.raises(UpstreamError) as info:
        launch.idtoken() if mode == "sync" else asyncio.run(launch.aidtoken())
    error = info.value
    assert error.upstream_status == upstream_status
    assert error.status == 502
    if code:
        assert error.code == code
    assert (error.body is not None) == has_body
    if has_body:
        assert error.body["status"] == upstream_status
    logging.getLogger("test").exception("logged", exc_info=error)
    for text in (str(error), repr(error), error.description, caplog.text):
        assert fake.api_key not in text
        assert ltik not in text
    # Failures are never cached: the next call tries again and succeeds.
    assert launch.idtoken()["user"]["id"]
    assert idtoken_fetches(fake) == 2
    assert config.cache_info().fetches == 2


def test_timeout_is_honoured(fake, caplog):
    fake.latency = 1.0
    config = fake.config(timeout=0.2)
    ltik = fake.launch()
    started = time.perf_counter()
    with pytest.raises(UpstreamError) as info:
        make_launch(config, ltik).idtoken()
    assert time.perf_counter() - started < 0.9
    assert info.value.upstream_status is None
    assert info.value.code == "UPSTREAM_UNAVAILABLE"
    assert fake.api_key not in str(info.value)
    assert ltik not in str(info.value)
    fake.latency = 0
    assert make_launch(config, ltik).idtoken()


def test_connection_refused():
    with listening_socket() as (url, _sock):
        pass  # closed again: nothing listens there now
    config = LtiaasConfig("some-api-key", url, timeout=2)
    with FakeLtiaas() as fake:
        ltik = fake.launch()
    with pytest.raises(UpstreamError) as info:
        make_launch(config, ltik).idtoken()
    assert info.value.upstream_status is None
    assert "some-api-key" not in str(info.value)
    assert ltik not in str(info.value)


def test_a_failure_reaches_every_waiting_caller_once(fake):
    fake.latency = 0.2
    fake.fail_next(500)
    launch = make_launch(fake.config(), fake.launch())
    barrier = threading.Barrier(8)

    def call(_: int) -> str:
        barrier.wait()
        try:
            launch.idtoken()
        except UpstreamError as error:
            return str(error.upstream_status)
        return "ok"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(call, range(8)))
    assert outcomes == ["500"] * 8
    assert idtoken_fetches(fake) == 1


def test_aidtoken_outside_any_event_loop_leaves_no_fetch_behind(fake):
    """Driven by hand, with no asyncio or trio loop running, aidtoken() fails at once and strands no waiter
    (under trio it works: tests/test_trio.py)."""
    launch = make_launch(fake.config(timeout=1), fake.launch())
    coroutine = launch.aidtoken()
    with pytest.raises(RuntimeError, match="asyncio or trio"):
        coroutine.send(None)
    assert launch.idtoken()["user"]["id"]  # would wait out the deadline if a fetch had been registered
    assert idtoken_fetches(fake) == 1


def test_a_shut_down_default_executor_does_not_matter(fake):
    """aidtoken() never uses the loop's default executor (its own pool fetches), so a broken one is
    harmless."""
    launch = make_launch(fake.config(), fake.launch())

    async def main() -> dict:
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(1)
        pool.shutdown()
        loop.set_default_executor(pool)
        return await launch.aidtoken()

    assert asyncio.run(main())["user"]["id"]
    assert idtoken_fetches(fake) == 1


def test_asgi_app_keeps_serving_while_a_request_waits_on_a_slow_fetch(fake):
    """The FastAPI example: a launch's first request waits 0.5 s on LTIAAS; a trivial request on the same
    event loop meanwhile completes at once."""
    import httpx

    from examples.fastapi_app import create_app

    fake.latency = 0.5
    ltik = fake.launch(user_id="slow-user")
    app = create_app(fake.config())

    async def timed(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> tuple[int, float]:
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        return response.status_code, time.perf_counter() - started

    async def main() -> tuple[tuple[int, float], tuple[int, float]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tool") as client:
            slow = asyncio.create_task(timed(client, "/whoami", {"Authorization": f"Bearer {ltik}"}))
            await asyncio.sleep(0.05)  # the slow request is now waiting on LTIAAS
            quick = await timed(client, "/health", {})
            return await slow, quick

    (slow_status, slow_time), (quick_status, quick_time) = asyncio.run(main())
    assert (slow_status, quick_status) == (200, 200)
    assert slow_time >= 0.5
    assert quick_time < 0.2  # it did not queue behind the fetch
    assert idtoken_fetches(fake) == 1
