"""The examples under real servers (gunicorn, uvicorn) on loopback, against a FakeLtiaas in this process,
driven concurrently by a real HTTP client: every answer must name the launch its request carried."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ltiaas_auth import parse_ltik
from ltiaas_auth.testing import FakeLtiaas

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: Callable[[int], list[str]], fake: FakeLtiaas) -> Iterator[str]:
    """Start ``python -m <command>`` from the repository root, wait until ``/health`` answers, and always
    stop it (terminate, then kill)."""
    port = free_port()
    env = {
        **os.environ,
        "LTIAAS_API_KEY": fake.api_key,
        "LTIAAS_URL": fake.url,
        "DJANGO_SETTINGS_MODULE": "examples.django_app.settings",
        "PYTHONUNBUFFERED": "1",
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *command(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    pytest.fail(
                        f"server exited ({process.returncode}):\n{log.read().decode(errors='replace')}"
                    )
                try:
                    if httpx.get(f"{base}/health", timeout=1, trust_env=False).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("server did not become ready")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


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


def gunicorn(app: str) -> Callable[[int], list[str]]:
    return lambda port: [
        "gunicorn", "-w", "2", "--threads", "4", "--graceful-timeout", "2", "-b", f"127.0.0.1:{port}", app
    ]  # fmt: skip


def uvicorn(app: str, *extra: str) -> Callable[[int], list[str]]:
    return lambda port: [
        "uvicorn", *extra, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", app
    ]  # fmt: skip


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
