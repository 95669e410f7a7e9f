"""The shared idtoken store under attack, on a real Redis (DESIGN §5): entries bound to their config, no
planted value ever served, refusals and failures published to every worker at once."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from helpers import idtoken_fetches
from redis_server import redis_stores, shared_redis
from security_helpers import tampered
from servers import running

from ltiaas_auth import LtikRefused, UpstreamError
from ltiaas_auth.context import make_launch
from ltiaas_auth.testing import FakeLtiaas


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    with shared_redis() as running_server:
        yield running_server


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as running_fake:
        yield running_fake


@pytest.fixture
def stores(server, request):
    """Stores on separate clients (as separate processes would have), one prefix per test."""
    with redis_stores(server.url, f"sec:{request.node.name}:", delete_keys=True) as make:
        yield make


def test_two_accounts_on_one_redis_never_serve_each_other(stores):
    """Account A's launch replayed to account B's tool, both on one Redis with one prefix: B asks its own
    LTIAAS (which refuses it) instead of serving A's user."""
    with FakeLtiaas() as account_a, FakeLtiaas() as account_b:
        ltik = account_a.launch(user_id="a-user")
        config_a = account_a.config(idtoken_store=stores())
        config_b = account_b.config(idtoken_store=stores())
        assert make_launch(config_a, ltik).idtoken()["user"]["id"] == "a-user"
        with pytest.raises(LtikRefused):
            make_launch(config_b, ltik).idtoken()
        assert idtoken_fetches(account_b) == 1  # B's LTIAAS was asked
        assert make_launch(config_a, ltik).cache_key != make_launch(config_b, ltik).cache_key


def derivable_keys(ltik: str) -> list[str]:
    """Every key someone without the API key could compute for ``ltik``."""
    sha = hashlib.sha256(ltik.encode()).hexdigest()
    return [sha, sha[:12], ltik, hashlib.sha256(b"x" + ltik.encode()).hexdigest()]


def test_values_planted_under_derivable_keys_are_never_served(fake, stores, server):
    ltik = fake.launch(user_id="learner")
    admin = fake.idtoken_for(fake.launch(user_id="admin", roles=("Administrator",)))
    store = stores()
    config = fake.config(idtoken_store=store)
    plain = json.dumps(admin)
    for key in derivable_keys(ltik):
        store.set(key, plain, 60)
        store.set(key, f"v1.{'0' * 64}.{plain}", 60)
    launch = make_launch(config, ltik)
    store.set(launch.cache_key, plain, 60)  # even under the real key, a value without the MAC
    assert launch.idtoken()["user"]["id"] == "learner"
    assert idtoken_fetches(fake) == 1


def test_a_genuine_entry_copied_under_another_launchs_key_is_never_served(fake, stores):
    """Someone who can write to Redis cannot move an Administrator's entry under their own launch."""
    store = stores()
    config = fake.config(idtoken_store=store)
    admin = make_launch(config, fake.launch(user_id="admin", roles=("Administrator",)))
    admin.idtoken()
    mine = make_launch(fake.config(idtoken_store=stores()), fake.launch(user_id="mallory"))
    store.set(mine.cache_key, store.get(admin.cache_key) or "", 60)
    assert mine.idtoken()["user"]["id"] == "mallory"
    assert idtoken_fetches(fake) == 2


def test_a_planted_refusal_does_not_lock_out_a_genuine_launch(fake, stores):
    store = stores()
    launch = make_launch(fake.config(idtoken_store=store), fake.launch(user_id="genuine"))
    store.refuse(launch.cache_key, "v1." + "0" * 64, 60)
    assert launch.idtoken()["user"]["id"] == "genuine"


def test_a_refusal_is_published_to_every_worker(fake, stores):
    """Four workers (four configs on their own clients) meet one tampered ltik: one LTIAAS call."""
    forged = tampered(fake.launch())
    configs = [fake.config(idtoken_store=stores()) for _ in range(4)]
    for config in configs:
        with pytest.raises(LtikRefused):
            make_launch(config, forged).idtoken()
    assert idtoken_fetches(fake) == 1


def test_waiting_workers_stop_at_once_when_the_holder_fails(fake, stores):
    """The lock holder's fetch fails (LTIAAS 500 after 0.5 s): the three waiting workers answer with an
    error of their own as soon as it is published, never after the 11 s fetch deadline (timeout=5)."""
    fake.latency = 0.5
    fake.fail_next(500)
    ltik = fake.launch()
    configs = [fake.config(idtoken_store=stores(), timeout=5) for _ in range(4)]
    barrier = threading.Barrier(4)

    def call(config) -> tuple[str, float]:
        barrier.wait()
        started = time.monotonic()
        try:
            make_launch(config, ltik).idtoken()
        except UpstreamError as error:
            return type(error).__name__, time.monotonic() - started
        return "ok", time.monotonic() - started

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(call, configs))
    assert [name for name, _ in outcomes] == ["UpstreamError"] * 4
    assert max(seconds for _, seconds in outcomes) < 3  # far below the deadline of 2 x 5 + 1 s
    assert idtoken_fetches(fake) == 1
    assert make_launch(configs[0], ltik).idtoken()["user"]["id"]  # a failure is not remembered


def test_a_waiter_takes_over_when_the_holder_is_gone(fake, stores):
    """The lock holder died (its lock expires after 0.5 s, nothing published): the waiting worker stops
    polling as soon as the lock is gone and fetches itself, well within its own deadline."""
    store = stores()
    launch = make_launch(fake.config(idtoken_store=store, timeout=1), fake.launch(user_id="taken-over"))
    assert store.lock(launch.cache_key, 0.5) is not None
    started = time.monotonic()
    assert launch.idtoken()["user"]["id"] == "taken-over"
    assert 0.4 < time.monotonic() - started < 2.5  # the lock's lifetime, not the 3 s deadline
    assert idtoken_fetches(fake) == 1


def test_a_refused_ltik_leaves_no_lock_and_a_refusal_with_a_ttl(fake, stores, server):
    store = stores()
    config = fake.config(idtoken_store=store, refusal_ttl=30)
    launch = make_launch(config, tampered(fake.launch()))
    with pytest.raises(LtikRefused):
        launch.idtoken()
    client = redis.Redis.from_url(server.url)
    try:
        assert client.get(f"{store.prefix}lock:{launch.cache_key}") is None
        assert 0 < client.pttl(f"{store.prefix}refused:{launch.cache_key}") <= 30_000
    finally:
        client.close()


def sync_gunicorn(workers: int):
    return lambda port: [
        "gunicorn", "-w", str(workers), "-k", "sync", "--graceful-timeout", "2", "-b", f"127.0.0.1:{port}",
        "examples.flask_app:create_app()",
    ]  # fmt: skip


@pytest.mark.e2e
def test_four_sync_workers_answer_a_tampered_ltik_at_once_with_one_ltiaas_call(fake, server):
    """4 gunicorn sync workers on one Redis, 4 concurrent requests with one tampered ltik (LTIAAS answers
    after 0.3 s): every one answered 401 within 2 s, LTIAAS asked once; genuine launches meanwhile 200."""
    fake.latency = 0.3
    genuine = [fake.launch(user_id=f"user-{index}") for index in range(4)]
    forged = tampered(fake.launch())
    env = {"LTIAAS_REDIS_URL": server.url}
    with running(sync_gunicorn(4), fake, env) as base:

        def get(ltik: str) -> tuple[int, float]:
            started = time.monotonic()
            response = httpx.get(
                f"{base}/whoami",
                headers={"Authorization": f"Bearer {ltik}", "Connection": "close"},
                timeout=30,
                trust_env=False,
            )
            return response.status_code, time.monotonic() - started

        with ThreadPoolExecutor(8) as pool:
            forged_answers = [pool.submit(get, forged) for _ in range(4)]
            genuine_answers = [pool.submit(get, ltik) for ltik in genuine]
            forged_results = [future.result() for future in forged_answers]
            genuine_results = [future.result() for future in genuine_answers]
    assert [status for status, _ in forged_results] == [401] * 4
    assert max(seconds for _, seconds in forged_results) < 2
    assert [status for status, _ in genuine_results] == [200] * 4
    forged_calls = [call for call in fake.calls if call.path.endswith("/api/idtoken") and call.status == 401]
    assert len(forged_calls) == 1
