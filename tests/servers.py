"""The examples under real servers (gunicorn, uvicorn) as subprocesses on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ltiaas_auth.testing import FakeLtiaas

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(
    command: Callable[[int], list[str]], fake: FakeLtiaas, extra_env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Start ``python -m <command>`` from the repository root, pointed at ``fake``, wait until ``/health``
    answers, and always stop it (terminate, then kill)."""
    port = free_port()
    env = {
        **os.environ,
        "LTIAAS_API_KEY": fake.api_key,
        "LTIAAS_URL": fake.url,
        "DJANGO_SETTINGS_MODULE": "examples.django_app.settings",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
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


def gunicorn(app: str, workers: int = 2) -> Callable[[int], list[str]]:
    return lambda port: [
        "gunicorn", "-w", str(workers), "--threads", "4", "--graceful-timeout", "2",
        "-b", f"127.0.0.1:{port}", app,
    ]  # fmt: skip


def uvicorn(app: str, *extra: str) -> Callable[[int], list[str]]:
    return lambda port: [
        "uvicorn", *extra, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", app
    ]  # fmt: skip
