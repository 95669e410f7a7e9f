"""Bounded memory: however many distinct ltiks arrive, the middleware's claims LRU and the config's idtoken
cache stay within their configured sizes, and nothing else keeps the launches alive.

An attacker can mint as many distinct ltiks as they like (the claims are read unverified), so both caches
must be bounded by ``cache_size``, not by traffic. The claims LRU is exercised with 100,000 distinct tokens
through the WSGI middleware, called directly (no HTTP); tokens are built with base64 by hand, not signed,
so the run takes seconds. The idtoken cache needs real fetches, so it gets 2,000 launches from FakeLtiaas
with a small ``cache_size``.
"""

from __future__ import annotations

import gc
import io
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from helpers import API_KEY, closed_port
from security_helpers import b64url

from ltiaas_auth import LtiaasConfig, LtiaasMiddleware
from ltiaas_auth.credentials import Launch
from ltiaas_auth.ltik import Ltik
from ltiaas_auth.testing import FakeLtiaas

DISTINCT = 100_000
CLAIMS_CACHE = 1_000
FETCHES = 2_000
IDTOKEN_CACHE = 64


HEADER = b64url(b'{"alg":"HS256","typ":"JWT"}')
SIGNATURE = b64url(bytes(range(32)))


def minted(index: int, now: int) -> str:
    """A distinct ltik-shaped token: one fixed header and signature, a payload that differs by ``index``.
    Every tenth is expired and every tenth garbage, so all three outcomes of a parse are in the mix."""
    if index % 10 == 9:
        return f"{HEADER}.{b64url(b'not json %d' % index)}.{SIGNATURE}"
    issued = now - 3 * 86400 if index % 10 == 8 else now
    payload = {"user": f"u{index}", "s": index, "iat": issued, "exp": issued + 86400}
    return f"{HEADER}.{b64url(json.dumps(payload, separators=(',', ':')).encode())}.{SIGNATURE}"


def ok_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def call(app: Callable[..., Iterable[bytes]], ltik: str) -> str:
    """One request, as a server makes it: call, drain, close."""
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "HTTP_AUTHORIZATION": f"Bearer {ltik}",
        "wsgi.input": io.BytesIO(),
    }
    iterable = app(environ, lambda line, headers, exc_info=None: status.append(line))
    try:
        for _ in iterable:
            pass
    finally:
        getattr(iterable, "close", lambda: None)()
    return status[0][:3]


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if type(thing) is kind)


def test_claims_lru_stays_within_cache_size_after_100k_distinct_ltiks() -> None:
    config = LtiaasConfig(API_KEY, f"http://127.0.0.1:{closed_port()}", cache_size=CLAIMS_CACHE)
    app = LtiaasMiddleware(ok_app, config, prefetch_idtoken=False)  # the claims LRU alone
    cache = app._gate.parse
    now = int(time.time())
    baseline = alive(Ltik), alive(Launch)  # other tests' caches may hold a few
    statuses: dict[str, int] = {}
    for index in range(DISTINCT):
        status = call(app, minted(index, now))
        statuses[status] = statuses.get(status, 0) + 1
        if index % 10_000 == 0:
            assert cache.cache_info().currsize <= CLAIMS_CACHE
    info = cache.cache_info()
    assert info.maxsize == CLAIMS_CACHE
    assert info.currsize == CLAIMS_CACHE  # full, and no more than full
    assert (info.hits, info.misses) == (0, DISTINCT)  # all distinct: every one was parsed
    assert statuses == {"200": DISTINCT * 8 // 10, "401": DISTINCT * 2 // 10}
    # Nothing but the LRU holds on to a launch: no list, no log, no context left behind.
    assert alive(Ltik) - baseline[0] <= CLAIMS_CACHE
    assert alive(Launch) - baseline[1] <= CLAIMS_CACHE


def test_idtoken_cache_stays_within_cache_size_after_2000_fetches() -> None:
    with FakeLtiaas() as fake:
        config = fake.config(cache_size=IDTOKEN_CACHE)
        app = LtiaasMiddleware(ok_app, config, prefetch_idtoken=True)
        ltiks = [fake.launch(user_id=f"user-{index}") for index in range(FETCHES)]
        sizes: list[int] = []

        def one(ltik: str) -> str:
            status = call(app, ltik)
            sizes.append(config.cache_info().size)
            return status

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, ltiks))
        assert set(statuses) == {"200"}
        info = config.cache_info()
        assert info.fetches == FETCHES
        assert len([call for call in fake.calls if call.path == "/api/idtoken"]) == FETCHES
        assert max(sizes) <= IDTOKEN_CACHE
        assert info.size == IDTOKEN_CACHE
        assert app._gate.parse.cache_info().currsize == IDTOKEN_CACHE  # the claims LRU uses the same size
        assert config._idtokens._inflight == {}  # no fetch left pending
        # The most recent launches are served from the cache; the oldest were evicted and fetch again.
        before = config.cache_info().fetches
        assert call(app, ltiks[-1]) == "200"
        assert config.cache_info().fetches == before
        assert call(app, ltiks[0]) == "200"
        assert config.cache_info().fetches == before + 1
        assert config.cache_info().size == IDTOKEN_CACHE
