"""LtiaasAuth as ``auth=`` for requests and httpx (sync and async), against real servers on loopback."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import requests
from ltik_factory import fresh_ltik
from recording_server import connections, listening_socket, recording_server

from ltiaas_auth import (
    ForeignOriginError,
    LtiaasAuth,
    LtiaasConfig,
    NoLaunchContext,
    api_key_context,
    launch_context,
    service_context,
)

KEY = "hook-api-key"


def send_requests(url: str, auth: LtiaasAuth) -> None:
    with requests.Session() as session:
        session.get(url, auth=auth, timeout=5).raise_for_status()


def send_httpx(url: str, auth: LtiaasAuth) -> None:
    with httpx.Client(auth=auth, timeout=5) as client:
        client.get(url).raise_for_status()


def send_httpx_async(url: str, auth: LtiaasAuth) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            (await client.get(url, auth=auth)).raise_for_status()

    asyncio.run(main())


CLIENTS = [
    pytest.param(send_requests, id="requests"),
    pytest.param(send_httpx, id="httpx"),
    pytest.param(send_httpx_async, id="httpx-async"),
]


@pytest.fixture
def server():
    with recording_server() as recorded:
        yield recorded


@pytest.mark.parametrize("send", CLIENTS)
@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "from-context"])
def test_the_exact_header_reaches_the_configured_origin(server, send, pinned):
    config = LtiaasConfig(KEY, server.url)
    auth = LtiaasAuth(config if pinned else None)
    ltik = fresh_ltik()
    with launch_context(config, ltik):
        send(server.url + "/api/idtoken", auth)
    with service_context(config, "svc-key"):
        send(server.url + "/api/memberships?limit=1", auth)
    with api_key_context(config):
        send(server.url + "/api/platforms", auth)
    assert [(r[1], r[2]["Authorization"]) for r in server.requests] == [
        ("/api/idtoken", f"LTIK-AUTH-V2 {KEY}:{ltik}"),
        ("/api/memberships?limit=1", f"SERVICE-AUTH-V1 {KEY}:svc-key"),
        ("/api/platforms", f"Bearer {KEY}"),
    ]


@pytest.mark.parametrize("send", CLIENTS)
def test_another_origin_fails_before_a_byte_is_sent(server, send):
    config = LtiaasConfig(KEY, server.url)
    with listening_socket() as (foreign_url, sock), launch_context(config, fresh_ltik()):
        for auth in (LtiaasAuth(config), LtiaasAuth()):
            with pytest.raises(ForeignOriginError) as info:
                send(foreign_url + "/api/idtoken", auth)
            assert KEY not in str(info.value)
            assert info.value.code == "FOREIGN_ORIGIN"
        assert connections(sock) == 0
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://{host}/api", id="other-scheme"),
        pytest.param("http://{host}:1/api", id="other-port"),
        pytest.param("http://localhost:{port}/api", id="other-host-name"),
        pytest.param("http://{host}:{port}@evil.example/api", id="userinfo-trick"),
    ],
)
def test_origin_is_matched_exactly(server, url):
    config = LtiaasConfig(KEY, server.url)
    host, port = server.url.removeprefix("http://").split(":")
    target = url.format(host=host, port=port)
    with launch_context(config, fresh_ltik()), pytest.raises(ForeignOriginError):
        send_requests(target, LtiaasAuth(config))
    assert server.requests == []


def test_a_credential_of_another_ltiaas_account_is_not_sent(server):
    mine = LtiaasConfig(KEY, server.url)
    theirs = LtiaasConfig("other-key", "https://other.ltiaas.com")
    with launch_context(theirs, fresh_ltik()), pytest.raises(ForeignOriginError):
        send_requests(server.url + "/api/idtoken", LtiaasAuth(mine))
    assert server.requests == []


def test_no_credential_is_an_error_not_an_anonymous_request(server):
    with pytest.raises(NoLaunchContext):
        send_httpx(server.url + "/api/idtoken", LtiaasAuth(LtiaasConfig(KEY, server.url)))
    assert server.requests == []


def test_repr_hides_the_key():
    assert KEY not in repr(LtiaasAuth(LtiaasConfig(KEY, "https://tool.ltiaas.com")))
