"""Each adapter factory is bound to its config: the base URL (a relative path works), the config's timeout,
no proxy for a plain-http (loopback) LTIAAS, and LTIAAS's answers raised as the classified errors. And the
aiohttp adapter keeps the key out of every ``request_info``, repr and log record.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
from recording_server import connections, listening_socket

from ltiaas_auth import (
    LtiaasConfig,
    LtikRefused,
    RateLimited,
    UpstreamError,
    api_key_context,
    launch_context,
)
from ltiaas_auth.clients import aiohttp as aiohttp_adapter
from ltiaas_auth.clients import httpx as httpx_adapter
from ltiaas_auth.clients import requests as requests_adapter
from ltiaas_auth.clients import urllib as urllib_adapter
from ltiaas_auth.testing import FakeLtiaas


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as server:
        yield server


# Each: GET a path relative to the config's base URL, passing no timeout; the JSON answer.
def by_requests(config: LtiaasConfig, path: str) -> Any:
    with requests_adapter.session(config) as http:
        return http.get(path).json()


def by_httpx(config: LtiaasConfig, path: str) -> Any:
    with httpx_adapter.client(config) as http:
        return http.get(path).json()


def by_httpx_async(config: LtiaasConfig, path: str) -> Any:
    async def main() -> Any:
        async with httpx_adapter.async_client(config) as http:
            return (await http.get(path)).json()

    return asyncio.run(main())


def by_aiohttp(config: LtiaasConfig, path: str) -> Any:
    async def main() -> Any:
        async with aiohttp_adapter.client_session(config) as http, http.get(path) as response:
            return await response.json()

    return asyncio.run(main())


def by_urllib(config: LtiaasConfig, path: str) -> Any:
    with urllib_adapter.build_opener(config).open(path) as answer:
        return json.load(answer)


ADAPTERS = [
    pytest.param(by_requests, id="requests"),
    pytest.param(by_httpx, id="httpx"),
    pytest.param(by_httpx_async, id="httpx-async"),
    pytest.param(by_aiohttp, id="aiohttp"),
    pytest.param(by_urllib, id="urllib"),
]
Get = Callable[[LtiaasConfig, str], Any]


@pytest.mark.parametrize("get", ADAPTERS)
def test_a_relative_path_reaches_the_config_s_ltiaas(fake: FakeLtiaas, get: Get) -> None:
    with launch_context(fake.config(), fake.launch(user_id="relative")):
        assert get(fake.config(), "/api/idtoken")["user"]["id"] == "relative"
    assert fake.calls[-1].path == "/api/idtoken"


@pytest.mark.parametrize("get", ADAPTERS)
def test_the_config_s_timeout_applies_when_the_call_sets_none(get: Get) -> None:
    with listening_socket() as (url, sock):  # accepts, never answers
        config = LtiaasConfig("key", url, timeout=0.3)
        with api_key_context(config), pytest.raises(UpstreamError) as timed_out:
            get(config, "/api/platforms")
        assert timed_out.value.upstream_status is None
        assert connections(sock) >= 1


@pytest.mark.parametrize("get", ADAPTERS)
def test_a_loopback_ltiaas_is_never_reached_through_http_proxy(
    fake: FakeLtiaas, get: Get, monkeypatch: pytest.MonkeyPatch
) -> None:
    with listening_socket() as (proxy, sock):
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        config = fake.config(timeout=2)
        with launch_context(config, fake.launch(user_id="direct")):
            assert get(config, "/api/idtoken")["user"]["id"] == "direct"
        assert connections(sock) == 0  # the key never crossed the proxy in clear
        assert fake.calls[-1].authorization is not None


@pytest.mark.parametrize("get", ADAPTERS)
def test_ltiaas_refusing_the_ltik_raises_ltik_refused(fake: FakeLtiaas, get: Get) -> None:
    good = fake.launch()
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    with launch_context(fake.config(), forged), pytest.raises(LtikRefused) as refused:
        get(fake.config(), "/api/memberships")
    assert refused.value.to_body()["details"]["message"] == "INVALID_LTIK"
    assert fake.api_key not in repr(refused.value) + str(refused.value)


@pytest.mark.parametrize("get", ADAPTERS)
def test_a_429_raises_rate_limited_with_retry_after(fake: FakeLtiaas, get: Get) -> None:
    fake.fail_next(429, headers={"Retry-After": "3"})
    with launch_context(fake.config(), fake.launch()), pytest.raises(RateLimited) as limited:
        get(fake.config(), "/api/memberships")
    assert limited.value.retry_after == 3


@pytest.mark.parametrize("get", ADAPTERS)
def test_a_dropped_connection_raises_upstream_error(fake: FakeLtiaas, get: Get) -> None:
    fake.drop_next()
    with launch_context(fake.config(), fake.launch()), pytest.raises(UpstreamError) as dropped:
        get(fake.config(), "/api/memberships")
    assert dropped.value.upstream_status is None


# --- aiohttp: no repr, str or log record of an error carries the key --------------------------------------


def test_aiohttp_request_info_never_shows_the_key(fake: FakeLtiaas, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = fake.config()
    ltik = fake.launch()
    fake.fail_next(200, body="<html>not json</html>")  # a 200 whose body is no JSON: ContentTypeError
    seen: list[str] = []

    async def failing() -> None:
        async with aiohttp_adapter.client_session(config) as http, http.get("/api/idtoken") as response:
            info = response.request_info
            seen.extend([repr(info), str(info), str(info.headers.get("Authorization"))])
            await response.json()

    async def main() -> None:
        with launch_context(config, ltik):
            try:
                await failing()
            except aiohttp.ContentTypeError as error:
                seen.extend([repr(error), str(error), repr(error.request_info), repr(error.args)])
            fake.fail_next(200, body="<html>again</html>")
            task = asyncio.get_running_loop().create_task(failing())
            await asyncio.wait([task])
            del task  # never retrieved: asyncio logs "Task exception was never retrieved" when collected
            gc.collect()
            await asyncio.sleep(0)

    asyncio.run(main())
    assert seen[2] == "LTIK-AUTH-V2 ***"
    assert any("Task exception was never retrieved" in record.getMessage() for record in caplog.records)
    logged = [
        record.getMessage()
        + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        for record in caplog.records
    ]
    for text in [*seen, *logged]:
        assert fake.api_key not in text
        assert ltik not in text
    assert fake.calls[0].authorization == f"LTIK-AUTH-V2 {fake.api_key}:{ltik}"  # what was sent was whole
