"""The idtoken cache shared through a real Redis: one fetch across processes, nothing secret stored, and
an outage that never fails a request."""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from helpers import idtoken_fetches
from recording_server import listening_socket
from redis_server import redis_server, redis_stores, shared_redis

from ltiaas_auth import LtiaasConfig, UpstreamError
from ltiaas_auth.context import make_launch
from ltiaas_auth.redis_store import RedisIdtokenStore
from ltiaas_auth.stores import IdtokenStore
from ltiaas_auth.testing import FakeLtiaas


@pytest.fixture(scope="module")
def server():
    with shared_redis() as running:
        yield running


@pytest.fixture
def fake():
    with FakeLtiaas() as running:
        yield running


@pytest.fixture
def stores(server, request):
    """A factory of stores on separate clients (as separate processes would have), one prefix per test."""
    with redis_stores(server.url, f"t:{request.node.name}:") as make:
        yield make


def test_a_second_process_reads_what_the_first_fetched(fake, stores):
    ltik = fake.launch(user_id="u-7")
    first = fake.config(idtoken_store=stores())
    second = fake.config(idtoken_store=stores())
    assert make_launch(first, ltik).idtoken()["user"]["id"] == "u-7"
    assert make_launch(second, ltik).idtoken()["user"]["id"] == "u-7"
    assert idtoken_fetches(fake) == 1
    assert first.cache_info().fetches == 1
    assert second.cache_info().fetches == 0
    assert second.cache_info().misses == 1


def test_eight_processes_at_once_cause_one_fetch(fake, stores):
    fake.latency = 0.3
    ltik = fake.launch()
    configs = [fake.config(idtoken_store=stores()) for _ in range(8)]
    barrier = threading.Barrier(8)

    def call(config: LtiaasConfig) -> str:
        barrier.wait()
        return make_launch(config, ltik).idtoken()["user"]["id"]

    with ThreadPoolExecutor(8) as pool:
        users = list(pool.map(call, configs))
    assert len(set(users)) == 1
    assert idtoken_fetches(fake) == 1


def test_nothing_secret_is_stored_and_ttl_is_redis_expiry(fake, server, stores):
    with FakeLtiaas(ltik_lifetime=600) as short_lived:
        ltik = short_lived.launch()
        store = stores()
        config = short_lived.config(idtoken_store=store, idtoken_ttl=3600)
        make_launch(config, ltik).idtoken()
        client = redis.Redis.from_url(server.url)
        try:
            keys = client.keys("*")
            assert keys
            for key in keys:
                value = client.get(key) or b""
                for text in (key, value):
                    assert ltik.encode() not in text
                    assert short_lived.api_key.encode() not in text
                    for part in ltik.split("."):
                        assert part.encode() not in text
            ours = client.keys(store.prefix + "*")
            idtoken_key = next(k for k in ours if b":idtoken:" in k)
            sealed = (client.get(idtoken_key) or b"").decode()
            assert sealed.startswith("v1.")  # the idtoken behind an HMAC binding it to its key
            assert json.loads(sealed.split(".", 2)[2])["user"]["id"]
            assert 0 < client.pttl(idtoken_key) <= 600_000  # the ltik's time left, not idtoken_ttl
            assert not [k for k in ours if b":lock:" in k]  # released after the fetch
        finally:
            client.close()


def test_a_lock_holder_that_never_delivers_costs_a_bounded_wait(fake, stores):
    ltik = fake.launch()
    store = stores()
    config = fake.config(idtoken_store=store, timeout=0.5)
    launch = make_launch(config, ltik)
    token = store.lock(launch.cache_key, 60)  # another "process" took it and hangs
    assert token is not None
    started = time.monotonic()
    with pytest.raises(UpstreamError):
        launch.idtoken()
    waited = time.monotonic() - started
    assert 1.5 < waited < 3  # the fetch deadline (2 x timeout + 1 s), never longer
    assert idtoken_fetches(fake) == 0
    store.unlock(launch.cache_key, token)  # the holder is gone: the next caller fetches afresh
    assert launch.idtoken()["user"]["id"]
    assert idtoken_fetches(fake) == 1


def test_the_store_satisfies_the_protocol(stores):
    assert isinstance(stores(), IdtokenStore)
    assert "redis://" not in repr(stores())


def test_redis_unreachable_from_the_start_means_direct_fetches_and_one_warning(fake, caplog):
    with listening_socket() as (url, _):
        pass
    store = RedisIdtokenStore.from_url(url.replace("http", "redis"), timeout=0.5)
    try:
        config = fake.config(idtoken_store=store)
        with caplog.at_level(logging.WARNING, logger="ltiaas_auth"):
            for _ in range(5):
                make_launch(config, fake.launch()).idtoken()
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "ConnectionError" in warnings[0].getMessage()
        assert idtoken_fetches(fake) == 5
    finally:
        store.client.close()


def test_redis_stopped_mid_run_keeps_requests_working_with_one_warning(fake, caplog):
    with redis_server() as own:
        stores = [RedisIdtokenStore.from_url(own.url, timeout=0.5) for _ in range(2)]
        try:
            configs = [fake.config(idtoken_store=store) for store in stores]
            launches = [fake.launch(user_id=f"u{i}") for i in range(10)]
            with caplog.at_level(logging.WARNING, logger="ltiaas_auth"):
                for ltik in launches[:5]:
                    for config in configs:
                        make_launch(config, ltik).idtoken()
                assert idtoken_fetches(fake) == 5  # shared while Redis runs
                own.stop()
                for ltik in launches[5:]:
                    for config in configs:
                        assert make_launch(config, ltik).idtoken()["user"]["id"]
            warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 2  # one per process (each config is one process here)
            assert all("ConnectionError" in r.getMessage() for r in warnings)
            assert idtoken_fetches(fake) == 5 + 10  # direct fetches, one per process per launch
        finally:
            for store in stores:
                store.client.close()


def test_redis_stopped_under_http_load_gives_no_5xx(fake, caplog):
    """The Flask example on a real threaded server: Redis dies halfway through a concurrent run."""
    from concurrent.futures import ThreadPoolExecutor as Pool

    import httpx
    from werkzeug.serving import make_server

    from examples.flask_app import create_app

    with redis_server() as own:
        store = RedisIdtokenStore.from_url(own.url, timeout=0.5)
        server = make_server("127.0.0.1", 0, create_app(fake.config(idtoken_store=store)), threaded=True)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        ltiks = [fake.launch() for _ in range(40)]

        def get(i: int) -> int:  # requests 0-99 use launches 0-19, requests 100-199 launches 20-39
            headers = {"Authorization": f"Bearer {ltiks[i % 20 + 20 * (i >= 100)]}"}
            return httpx.get(f"{base}/whoami", headers=headers, timeout=10, trust_env=False).status_code

        try:
            with caplog.at_level(logging.WARNING, logger="ltiaas_auth"), Pool(8) as pool:
                first = list(pool.map(get, range(100)))
                own.stop()
                second = list(pool.map(get, range(100, 200)))
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
            store.client.close()
    assert set(first) == set(second) == {200}
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert idtoken_fetches(fake) == 40  # the new launches after the outage are fetched directly
