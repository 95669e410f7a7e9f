"""The native Django example (``LtiaasMiddleware`` in ``settings.MIDDLEWARE``) under gunicorn (WSGI,
threads) and uvicorn (ASGI), against a FakeLtiaas in this process: at least 500 concurrent requests over
at least 20 launches, each answer naming its own launch, no 5xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from servers import gunicorn, running, uvicorn
from test_e2e_servers import drive

from ltiaas_auth.testing import FakeLtiaas

pytestmark = pytest.mark.e2e


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


@pytest.mark.parametrize(
    ("server", "routes"),
    [
        pytest.param(
            gunicorn("examples.django_app.wsgi:application"),
            ["/whoami", "/stream", "/awhoami"],
            id="gunicorn",
        ),
        pytest.param(
            uvicorn("examples.django_app.asgi:application"), ["/whoami", "/awhoami", "/astream"], id="uvicorn"
        ),
    ],
)
def test_native_django_example(
    fake: FakeLtiaas, server: Callable[[int], list[str]], routes: list[str]
) -> None:
    with running(server, fake) as base:
        drive(base, fake, routes, requests=520, launches=21)
        missing = httpx.get(f"{base}/whoami", trust_env=False)
        assert missing.status_code == 401
        assert missing.json()["details"]["message"] == "MISSING_LTIK"
        learner = fake.launch(roles=["Learner"])
        refused = httpx.get(f"{base}/grades", headers={"X-Ltik": learner}, trust_env=False)
        assert refused.status_code == 403
        assert httpx.get(f"{base}/health", trust_env=False).json() == {"status": "ok"}
