"""The async path under trio (DESIGN §5): ``aidtoken()`` and the ASGI middleware's prefetch work there as
under asyncio (one fetch for many tasks, the same deadline), and the sync ``idtoken()`` refuses to block a
trio thread."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import idtoken_fetches
from security_helpers import dripping_server, tampered
from servers import running

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig, LtikRefused, UpstreamError
from ltiaas_auth.context import make_launch
from ltiaas_auth.testing import FakeLtiaas

trio = pytest.importorskip("trio")


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as running_fake:
        yield running_fake


def test_aidtoken_under_trio_with_32_tasks_makes_one_fetch(fake):
    fake.latency = 0.2
    launch = make_launch(fake.config(), fake.launch(user_id="trio-user"))
    users: list[str] = []

    async def one() -> None:
        users.append((await launch.aidtoken())["user"]["id"])

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(32):
                nursery.start_soon(one)

    trio.run(main)
    assert users == ["trio-user"] * 32
    assert idtoken_fetches(fake) == 1


def test_aidtoken_under_trio_meets_a_refusal_and_remembers_it(fake):
    launch = make_launch(fake.config(), tampered(fake.launch()))

    async def main() -> None:
        for _ in range(3):
            with pytest.raises(LtikRefused):
                await launch.aidtoken()

    trio.run(main)
    assert idtoken_fetches(fake) == 1


def test_sync_idtoken_on_a_trio_thread_raises_the_documented_runtime_error(fake):
    launch = make_launch(fake.config(), fake.launch())

    async def main() -> None:
        with pytest.raises(RuntimeError, match=r"aidtoken\(\)"):
            launch.idtoken()

    trio.run(main)
    assert idtoken_fetches(fake) == 0  # it refused before any fetch


def test_sync_idtoken_in_a_trio_worker_thread_is_fine(fake):
    launch = make_launch(fake.config(), fake.launch(user_id="threaded"))

    async def main() -> dict[str, Any]:
        return await trio.to_thread.run_sync(launch.idtoken)

    assert trio.run(main)["user"]["id"] == "threaded"


def test_aidtoken_under_trio_gives_up_on_a_dripping_upstream_within_the_deadline():
    with FakeLtiaas() as fake:
        ltik = fake.launch()
        body = json.dumps(fake.idtoken_for(ltik)).encode()
    with dripping_server(body) as server:
        launch = make_launch(LtiaasConfig(fake.api_key, server.url, timeout=1), ltik)

        async def main() -> float:
            started = time.monotonic()
            with pytest.raises(UpstreamError):
                await launch.aidtoken()
            return time.monotonic() - started

        assert trio.run(main) < 3 + 1  # 2 x timeout + 1 s, plus the machine's slack


def test_prefetch_under_trio_through_httpx_asgi_transport(fake):
    genuine, forged = fake.launch(user_id="u-trio"), tampered(fake.launch())

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gated = LtiaasASGIMiddleware(app, fake.config(), prefetch_idtoken=True)

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=gated)
        async with httpx.AsyncClient(transport=transport, base_url="http://tool") as client:
            statuses = []
            for ltik in (genuine, forged, genuine, forged):
                answer = await client.get("/", headers={"Authorization": f"Bearer {ltik}"})
                statuses.append(answer.status_code)
            return statuses

    assert trio.run(main) == [200, 401, 200, 401]
    assert idtoken_fetches(fake) == 2


@pytest.mark.e2e
def test_the_fastapi_example_under_hypercorns_trio_worker(fake):
    def hypercorn(port: int) -> list[str]:
        return ["hypercorn", "-k", "trio", "-b", f"127.0.0.1:{port}", "examples.fastapi_app:create_app()"]

    ltik = fake.launch(user_id="hyper-trio")
    with running(hypercorn, fake) as base:
        answer = httpx.get(f"{base}/whoami", headers={"Authorization": f"Bearer {ltik}"}, trust_env=False)
        forged = httpx.get(
            f"{base}/whoami", headers={"Authorization": f"Bearer {tampered(ltik)}"}, trust_env=False
        )
    assert (answer.status_code, answer.json()["user"]) == (200, "hyper-trio")
    assert forged.status_code == 401
