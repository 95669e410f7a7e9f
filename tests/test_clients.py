"""The client adapters, each over real HTTP on 127.0.0.1: the header reaches LTIAAS, never another origin."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from recording_server import connections, listening_socket, recording_server

from ltiaas_auth import (
    ForeignOriginError,
    LtiaasConfig,
    api_key_context,
    launch_context,
    service_context,
)
from ltiaas_auth.clients import aiohttp as aiohttp_adapter
from ltiaas_auth.clients import httpx as httpx_adapter
from ltiaas_auth.clients import requests as requests_adapter
from ltiaas_auth.clients import urllib as urllib_adapter
from ltiaas_auth.context import CredentialScope
from ltiaas_auth.testing import FakeLtiaas

API_KEY = "test-api-key_0123456789"

# --- every client, as a GET that follows redirects and closes what it opened; the answer's status


def get_requests(config: LtiaasConfig | None, url: str) -> int:
    with requests_adapter.session(config) as http, http.get(url, timeout=5) as response:
        return response.status_code


def get_httpx(config: LtiaasConfig | None, url: str) -> int:
    with httpx_adapter.client(config, follow_redirects=True, timeout=5) as http:
        return http.get(url).status_code


def get_httpx_async(config: LtiaasConfig | None, url: str) -> int:
    async def main() -> int:
        async with httpx_adapter.async_client(config, follow_redirects=True, timeout=5) as http:
            return (await http.get(url)).status_code

    return asyncio.run(main())


def get_aiohttp(config: LtiaasConfig | None, url: str) -> int:
    async def main() -> int:
        async with aiohttp_adapter.client_session(config) as http, http.get(url) as response:
            await response.read()
            return response.status

    return asyncio.run(main())


def get_urllib(config: LtiaasConfig | None, url: str) -> int:
    with urllib_adapter.build_opener(config).open(url, timeout=5) as response:
        status: int = response.status
        return status


CLIENTS = [
    pytest.param(get_requests, id="requests"),
    pytest.param(get_httpx, id="httpx"),
    pytest.param(get_httpx_async, id="httpx-async"),
    pytest.param(get_aiohttp, id="aiohttp"),
    pytest.param(get_urllib, id="urllib"),
]
Get = Callable[[LtiaasConfig | None, str], int]


# --- tiny local servers


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as started:
        yield started


# --- the right header reaches LTIAAS


@pytest.mark.parametrize("get", CLIENTS)
@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "from-credential"])
@pytest.mark.parametrize("kind", ["launch", "service", "api-key"])
def test_the_current_credential_reaches_ltiaas(fake: FakeLtiaas, get: Get, pinned: bool, kind: str) -> None:
    config = fake.config()
    ltik = fake.launch()
    service_key = fake.service_key_for(ltik)
    assert service_key is not None
    scopes: dict[str, tuple[CredentialScope[Any], str, str]] = {
        "launch": (launch_context(config, ltik), "/api/memberships", f"LTIK-AUTH-V2 {fake.api_key}:{ltik}"),
        "service": (
            service_context(config, service_key),
            "/api/lineitems",
            f"SERVICE-AUTH-V1 {fake.api_key}:{service_key}",
        ),
        "api-key": (api_key_context(config), "/api/platforms", f"Bearer {fake.api_key}"),
    }
    scope, path, expected = scopes[kind]
    with scope:
        assert get(config if pinned else None, fake.url + path) == 200
    assert (fake.calls[-1].path, fake.calls[-1].authorization) == (path, expected)


# --- redirects: the credential stays on the LTIAAS origin


@pytest.mark.parametrize("get", CLIENTS)
def test_a_redirect_to_another_origin_does_not_carry_the_credential(get: Get) -> None:
    with recording_server() as ltiaas, recording_server() as elsewhere:
        config = LtiaasConfig(API_KEY, ltiaas.url)
        with api_key_context(config):
            assert get(config, f"{ltiaas.url}/api/away?to={elsewhere.url}/landing") == 200
    assert ltiaas.seen == [(f"/api/away?to={elsewhere.url}/landing", f"Bearer {API_KEY}")]
    assert elsewhere.seen == [("/landing", None)]


@pytest.mark.parametrize("get", CLIENTS)
def test_a_redirect_within_the_origin_keeps_the_credential(get: Get) -> None:
    with recording_server() as ltiaas:
        config = LtiaasConfig(API_KEY, ltiaas.url)
        with api_key_context(config):
            assert get(config, f"{ltiaas.url}/api/moved?to=/api/here") == 200
    assert [authorization for _, authorization in ltiaas.seen] == [f"Bearer {API_KEY}"] * 2


@pytest.mark.parametrize("get", CLIENTS)
def test_a_redirect_chain_that_leaves_and_comes_back_sends_the_credential_only_to_ltiaas(get: Get) -> None:
    # requests and httpx do not add it again on the way back, aiohttp and urllib (per-hop hooks) do.
    with recording_server() as ltiaas, recording_server() as elsewhere:
        config = LtiaasConfig(API_KEY, ltiaas.url)
        back = f"{ltiaas.url}/api/back"
        with api_key_context(config):
            assert get(config, f"{ltiaas.url}/api/away?to={elsewhere.url}/bounce?to={back}") == 200
    away = f"/api/away?to={elsewhere.url}/bounce?to={back}"
    assert [path for path, _ in ltiaas.seen] == [away, "/api/back"]
    assert ltiaas.seen[0][1] == f"Bearer {API_KEY}"
    assert ltiaas.seen[1][1] in (f"Bearer {API_KEY}", None)
    assert [authorization for _, authorization in elsewhere.seen] == [None]


# --- a request to another origin is refused before a byte is sent


@pytest.mark.parametrize("get", CLIENTS)
@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "from-credential"])
def test_a_request_to_another_origin_fails_before_connecting(
    fake: FakeLtiaas, get: Get, pinned: bool
) -> None:
    config = fake.config()
    with listening_socket() as (url, sock), launch_context(config, fake.launch()):
        with pytest.raises(ForeignOriginError):
            get(config if pinned else None, url + "/api/memberships")
        assert connections(sock) == 0
    assert fake.calls == []


@pytest.mark.parametrize("get", CLIENTS)
def test_a_credential_of_another_ltiaas_is_refused(fake: FakeLtiaas, get: Get) -> None:
    with listening_socket() as (url, sock), api_key_context(LtiaasConfig(API_KEY, url)):
        with pytest.raises(ForeignOriginError):
            get(fake.config(), fake.url + "/api/platforms")
        assert connections(sock) == 0
    assert fake.calls == []


# --- per-client details


def test_aiohttp_refuses_a_direct_request_after_following_a_redirect_away() -> None:
    async def main(config: LtiaasConfig, away: str, direct: str) -> None:
        async with aiohttp_adapter.client_session(config) as http:
            async with http.get(away) as response:
                assert response.status == 200
            with pytest.raises(ForeignOriginError):
                await http.get(direct)

    with recording_server() as ltiaas, recording_server() as elsewhere:
        config = LtiaasConfig(API_KEY, ltiaas.url)
        with api_key_context(config):
            asyncio.run(main(config, f"{ltiaas.url}/api/away?to={elsewhere.url}/x", f"{elsewhere.url}/x"))
    assert elsewhere.seen == [("/x", None)]


def test_urllib_drops_an_authorization_the_caller_set_on_a_redirect_away() -> None:
    with recording_server() as ltiaas, recording_server() as elsewhere:
        config = LtiaasConfig(API_KEY, ltiaas.url)
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL
            f"{ltiaas.url}/api/away?to={elsewhere.url}/x", headers={"Authorization": "Bearer mine"}
        )
        with api_key_context(config), urllib_adapter.build_opener(config).open(request, timeout=5) as answer:
            assert json.load(answer) == {"ok": True}
    assert ltiaas.seen[0][1] == f"Bearer {API_KEY}"
    assert elsewhere.seen == [("/x", None)]


def test_httpx_factories_default_to_the_config(fake: FakeLtiaas) -> None:
    config = fake.config()
    with launch_context(config, fake.launch()), httpx_adapter.client(config) as http:
        assert http.get("/api/idtoken").status_code == 200
        assert http.timeout.read == config.timeout


def test_aiohttp_session_defaults_to_the_config(fake: FakeLtiaas) -> None:
    async def main(config: LtiaasConfig) -> int:
        async with aiohttp_adapter.client_session(config) as http, http.get("/api/idtoken") as response:
            await response.read()
            return response.status

    config = fake.config()
    with launch_context(config, fake.launch()):
        assert asyncio.run(main(config)) == 200


def test_importing_the_package_imports_no_http_client() -> None:
    code = (
        "import sys, ltiaas_auth, ltiaas_auth.clients\n"
        "loaded = {'requests', 'httpx', 'aiohttp'} & set(sys.modules)\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_the_examples_in_the_docs_run() -> None:
    """Every python block of docs/clients.md, in order, in one namespace (they start and stop a fake)."""
    page = Path(__file__).parent.parent / "docs" / "clients.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL)
    namespace: dict[str, Any] = {"__name__": "docs_clients"}
    try:
        for block in blocks:
            exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - our own documentation
    finally:
        namespace["fake"].stop()  # the last block stops it too, unless one before it failed
    assert len(blocks) == 9
