"""One cache, one single flight: the API client reads the idtoken through the config's cache, so the client,
``current_launch().idtoken()`` and any number of threads and tasks make one fetch per launch."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ltiaas_auth import current_launch, launch_context
from ltiaas_auth.api import AsyncLtiaasClient, IdToken, LtiaasClient
from ltiaas_auth.testing import FakeLtiaas

N = 32


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as started:
        yield started


def idtoken_fetches(fake: FakeLtiaas) -> int:
    return sum(1 for call in fake.calls if call.path == "/api/idtoken" and not call.query)


def test_client_and_launch_share_one_fetch(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch(user_id="u-1")
    with LtiaasClient(config) as client, launch_context(config, ltik):
        first = client.idtoken()
        assert current_launch().idtoken() is first.raw
        assert client.idtoken() == first

    async def main() -> IdToken:
        async with AsyncLtiaasClient(config) as client:
            with launch_context(config, ltik):
                return await client.idtoken()

    assert asyncio.run(main()).user.id == "u-1"
    assert idtoken_fetches(fake) == 1
    assert config.cache_info().fetches == 1


def test_32_threads_one_fetch(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch(user_id="u-1")
    fake.latency = 0.2  # every thread arrives while the first fetch is in flight
    barrier = threading.Barrier(N, timeout=10)
    with LtiaasClient(config) as client:

        def read() -> str:
            with launch_context(config, ltik):
                barrier.wait()
                return client.idtoken().user.id

        with ThreadPoolExecutor(N) as pool:
            users = list(pool.map(lambda _: read(), range(N), timeout=30))
    assert users == ["u-1"] * N
    assert idtoken_fetches(fake) == 1


def test_32_tasks_one_fetch(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch(user_id="u-1")
    fake.latency = 0.2

    async def main() -> list[str]:
        async with AsyncLtiaasClient(config) as client:
            with launch_context(config, ltik):
                tokens = await asyncio.wait_for(asyncio.gather(*(client.idtoken() for _ in range(N))), 30)
        return [token.user.id for token in tokens]

    assert asyncio.run(main()) == ["u-1"] * N
    assert idtoken_fetches(fake) == 1


def test_threads_and_tasks_together_one_fetch(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch(user_id="u-1")
    fake.latency = 0.3
    barrier = threading.Barrier(N + 1, timeout=10)

    async def tasks() -> list[str]:
        async with AsyncLtiaasClient(config) as client:
            with launch_context(config, ltik):
                barrier.wait()
                tokens = await asyncio.wait_for(asyncio.gather(*(client.idtoken() for _ in range(N))), 30)
        return [token.user.id for token in tokens]

    with LtiaasClient(config) as client:

        def read() -> str:
            with launch_context(config, ltik):
                barrier.wait()
                return client.idtoken().user.id

        with ThreadPoolExecutor(N + 1) as pool:
            loop = pool.submit(contextvars.copy_context().run, asyncio.run, tasks())
            threads = [pool.submit(read) for _ in range(N)]
            users = [f.result(timeout=30) for f in threads] + loop.result(timeout=30)
    assert users == ["u-1"] * (2 * N)
    assert idtoken_fetches(fake) == 1


def test_sync_idtoken_refuses_to_block_an_event_loop(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch()

    async def main() -> None:
        with (
            LtiaasClient(config) as client,
            launch_context(config, ltik),
            pytest.raises(RuntimeError, match="aidtoken"),
        ):
            client.idtoken()

    asyncio.run(main())
    assert fake.calls == []
