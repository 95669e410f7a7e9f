"""https with a private CA: ``config.ssl_context`` reaches every outbound call (the idtoken fetch and all
four client adapters, through their factories), and without it the private CA is refused.

The LTIAAS is ``FakeLtiaas(tls=True)``: a real TLS server on 127.0.0.1 under a throwaway trustme CA.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import pytest

from ltiaas_auth import LtiaasConfig, UpstreamError, launch_context
from ltiaas_auth.clients import aiohttp as aiohttp_adapter
from ltiaas_auth.clients import httpx as httpx_adapter
from ltiaas_auth.clients import requests as requests_adapter
from ltiaas_auth.clients import urllib as urllib_adapter
from ltiaas_auth.testing import FakeLtiaas


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas(tls=True) as server:
        yield server


def user_by_requests(config: LtiaasConfig) -> str:
    with requests_adapter.session(config) as http:
        return str(http.get("/api/idtoken").json()["user"]["id"])


def user_by_httpx(config: LtiaasConfig) -> str:
    with httpx_adapter.client(config) as http:
        return str(http.get("/api/idtoken").json()["user"]["id"])


def user_by_httpx_async(config: LtiaasConfig) -> str:
    async def main() -> str:
        async with httpx_adapter.async_client(config) as http:
            return str((await http.get("/api/idtoken")).json()["user"]["id"])

    return asyncio.run(main())


def user_by_aiohttp(config: LtiaasConfig) -> str:
    async def main() -> str:
        async with aiohttp_adapter.client_session(config) as http, http.get("/api/idtoken") as response:
            return str((await response.json())["user"]["id"])

    return asyncio.run(main())


def user_by_urllib(config: LtiaasConfig) -> str:
    with urllib_adapter.build_opener(config).open("/api/idtoken") as answer:
        return str(json.load(answer)["user"]["id"])


def user_by_idtoken(config: LtiaasConfig) -> str:
    from ltiaas_auth import current_launch

    return str(current_launch().idtoken()["user"]["id"])


def user_by_aidtoken(config: LtiaasConfig) -> str:
    from ltiaas_auth import current_launch

    async def main() -> str:
        return str((await current_launch().aidtoken())["user"]["id"])

    return asyncio.run(main())


CALLERS = [
    pytest.param(user_by_idtoken, id="idtoken"),
    pytest.param(user_by_aidtoken, id="aidtoken"),
    pytest.param(user_by_requests, id="requests"),
    pytest.param(user_by_httpx, id="httpx"),
    pytest.param(user_by_httpx_async, id="httpx-async"),
    pytest.param(user_by_aiohttp, id="aiohttp"),
    pytest.param(user_by_urllib, id="urllib"),
]


@pytest.mark.parametrize("call", CALLERS)
def test_a_private_ca_through_ssl_context_works(
    fake: FakeLtiaas, call: Callable[[LtiaasConfig], str]
) -> None:
    config = LtiaasConfig(fake.api_key, fake.url, ssl_context=fake.ssl_context())
    assert config.base_url.startswith("https://")
    with launch_context(config, fake.launch(user_id="tls-user")):
        assert call(config) == "tls-user"


@pytest.mark.parametrize("call", CALLERS)
def test_without_it_the_private_ca_is_refused(fake: FakeLtiaas, call: Callable[[LtiaasConfig], str]) -> None:
    config = LtiaasConfig(fake.api_key, fake.url)  # the system's trust store: it does not know the fake's CA
    calls = len(fake.calls)
    with launch_context(config, fake.launch()), pytest.raises(UpstreamError) as refused:
        call(config)
    assert refused.value.upstream_status is None  # no answer was accepted from an untrusted server
    assert fake.api_key not in repr(refused.value) + str(refused.value)
    assert len(fake.calls) == calls  # the handshake failed: no request reached the fake
