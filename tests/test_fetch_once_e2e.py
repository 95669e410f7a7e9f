"""One upstream idtoken fetch per launch, measured at FakeLtiaas, through the examples under real servers:
one process on its own, and several processes sharing a Redis store."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from helpers import idtoken_fetches
from redis_server import shared_redis
from servers import gunicorn, running, uvicorn

from ltiaas_auth.testing import FakeLtiaas

pytestmark = pytest.mark.e2e

FLASK = "examples.flask_app:create_app()"
FASTAPI = "examples.fastapi_app:create_app"


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as running_fake:
        yield running_fake


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with shared_redis() as server:
        yield server.url


def burst(base: str, fake: FakeLtiaas, *, launches: int, per_launch: int) -> None:
    """Every launch's requests at once, each on a new connection so the kernel spreads them over the
    server's worker processes; every answer must be 200 and name its own user."""
    users = [f"user-{index}" for index in range(launches)]
    ltiks = [fake.launch(user_id=user) for user in users]

    def one(index: int) -> str | None:
        which = index % launches
        response = httpx.get(
            f"{base}/whoami",
            headers={"Authorization": f"Bearer {ltiks[which]}", "Connection": "close"},
            timeout=15,
            trust_env=False,
        )
        if response.status_code != 200 or response.json()["user"] != users[which]:
            return f"{response.status_code} {response.text[:200]}"
        return None

    with ThreadPoolExecutor(32) as pool:
        failures = [f for f in pool.map(one, range(launches * per_launch)) if f]
    assert failures == [], failures[:5]


@pytest.mark.parametrize(
    "server",
    [
        pytest.param(gunicorn(FLASK, workers=1), id="flask-gunicorn"),
        pytest.param(uvicorn(FASTAPI, "--factory"), id="fastapi-uvicorn"),
    ],
)
def test_one_process_fetches_each_launch_once(fake, server):
    fake.latency = 0.05  # concurrent requests for a launch overlap its fetch
    with running(server, fake) as base:
        burst(base, fake, launches=20, per_launch=10)
    assert idtoken_fetches(fake) == 20


@pytest.mark.parametrize(
    "server",
    [
        pytest.param(gunicorn(FLASK, workers=4), id="flask-gunicorn-4-workers"),
        pytest.param(uvicorn(FASTAPI, "--factory", "--workers", "2"), id="fastapi-uvicorn-2-workers"),
    ],
)
def test_workers_sharing_redis_fetch_each_launch_once(fake, redis_url, server, request):
    fake.latency = 0.05
    env = {
        "LTIAAS_REDIS_URL": redis_url.replace("/0", "/1") if "gunicorn" in request.node.name else redis_url
    }
    with running(server, fake, env) as base:
        burst(base, fake, launches=20, per_launch=20)
    assert idtoken_fetches(fake) == 20


def test_without_redis_the_same_workers_fetch_more(fake):
    """The control: the burst above does reach several workers, each with its own cache."""
    fake.latency = 0.05
    with running(gunicorn(FLASK, workers=4), fake) as base:
        burst(base, fake, launches=20, per_launch=20)
    assert idtoken_fetches(fake) > 20
