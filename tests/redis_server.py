"""A real redis-server on 127.0.0.1 for the tests: started on a free port, stopped afterwards.

Locally the tests skip when Debian's redis-server is not installed; under CI (``CI=true``) they fail,
since ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
from servers import free_port

from ltiaas_auth.redis_store import RedisIdtokenStore


def require_redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed, and CI must run the Redis tests")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return path


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                require_redis_server(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class SharedRedis:
    """The server ``.ci/run`` started (``LTIAAS_TEST_REDIS_URL``); tests use their own key prefixes."""

    def __init__(self, url: str) -> None:
        self.url = url


@contextmanager
def shared_redis() -> Iterator[RedisServer | SharedRedis]:
    """The CI's running server when there is one, else a private one."""
    url = os.environ.get("LTIAAS_TEST_REDIS_URL")
    if url:
        yield SharedRedis(url)
        return
    with redis_server() as server:
        yield server


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A private server, for tests that stop it."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def redis_stores(
    url: str, prefix: str, *, delete_keys: bool = False
) -> Iterator[Callable[[], RedisIdtokenStore]]:
    """A factory of stores on ``url``, each on its own client (as separate processes would have), all with
    ``prefix``; afterwards their clients are closed, and with ``delete_keys`` what they stored deleted."""
    made: list[RedisIdtokenStore] = []

    def make() -> RedisIdtokenStore:
        store = RedisIdtokenStore.from_url(url, prefix=prefix)
        made.append(store)
        return store

    try:
        yield make
    finally:
        for store in made:
            if delete_keys:
                store.client.delete(*(store.client.keys(prefix + "*") or [prefix + "none"]))
            store.client.close()
