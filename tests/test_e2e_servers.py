"""The examples under real servers (gunicorn, uvicorn) on loopback, against a FakeLtiaas in this process,
driven concurrently by a real HTTP client: every answer must name the launch its request carried."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from servers import gunicorn, running, uvicorn

from ltiaas_auth import parse_ltik
from ltiaas_auth.testing import FakeLtiaas

pytestmark = pytest.mark.e2e


def drive(base: str, fake: FakeLtiaas, routes: list[str], *, requests: int, launches: int) -> None:
    """``requests`` concurrent requests over ``launches`` distinct launches, the ltik sent in turn as
    ``Authorization: Bearer``, ``?ltik=`` and ``X-Ltik``; every answer must name its own launch."""
    users = [f"user-{index}" for index in range(launches)]
    ltiks = [fake.launch(user_id=user) for user in users]
    fingerprints = [parse_ltik(ltik).fingerprint for ltik in ltiks]

    def one(client: httpx.Client, index: int) -> str | None:
        which = index % launches
        ltik, route = ltiks[which], routes[(index + index // launches) % len(routes)]  # every pairing occurs
        style = (index // launches) % 3
        headers = (
            {"Authorization": f"Bearer {ltik}"} if style == 0 else {"X-Ltik": ltik} if style == 1 else {}
        )
        params = {"ltik": ltik} if style == 2 else {}
        response = client.get(f"{base}{route}", headers=headers, params=params)
        if response.status_code != 200:
            return f"{route} {response.status_code} {response.text[:200]}"
        if fake.api_key in response.text or "LTIK-AUTH" in response.text:
            return f"{route} leaked a credential"
        if route.endswith("stream"):
            expected = [f"{line} {fingerprints[which]}" for line in range(3)]
            return None if response.text.splitlines() == expected else f"{route} named another launch"
        body = response.json()
        if body != {"ltik": fingerprints[which], "user": users[which]}:
            return f"{route} named another launch: {body}"
        return None

    with (
        httpx.Client(timeout=15, trust_env=False, limits=httpx.Limits(max_connections=32)) as client,
        ThreadPoolExecutor(16) as pool,
    ):
        failures = [failure for failure in pool.map(lambda i: one(client, i), range(requests)) if failure]
    assert failures == [], failures[:5]


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def test_flask_example_under_gunicorn(fake: FakeLtiaas) -> None:
    with running(gunicorn("examples.flask_app:create_app()"), fake) as base:
        drive(base, fake, ["/whoami", "/stream"], requests=600, launches=24)
        assert httpx.get(f"{base}/whoami", trust_env=False).status_code == 401


def test_fastapi_example_under_uvicorn(fake: FakeLtiaas) -> None:
    with running(uvicorn("examples.fastapi_app:create_app", "--factory"), fake) as base:
        drive(base, fake, ["/whoami", "/whoami-sync", "/stream"], requests=600, launches=24)
        assert httpx.get(f"{base}/whoami", trust_env=False).status_code == 401


def test_django_example_under_gunicorn(fake: FakeLtiaas) -> None:
    with running(gunicorn("examples.django_app.wsgi:application"), fake) as base:
        drive(base, fake, ["/whoami", "/stream"], requests=200, launches=20)


def test_django_example_under_uvicorn(fake: FakeLtiaas) -> None:
    with running(uvicorn("examples.django_app.asgi:application"), fake) as base:
        drive(base, fake, ["/whoami", "/awhoami", "/astream"], requests=200, launches=20)
