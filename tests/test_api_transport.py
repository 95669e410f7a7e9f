"""The API client's transport: TLS with the config's ``ssl_context``, no environment proxy for a loopback
LTIAAS, one keep-alive connection for a sequence of calls, and no redirect followed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from ltiaas_auth import api_key_context, launch_context
from ltiaas_auth.api import AsyncLtiaasClient, LtiaasClient
from ltiaas_auth.testing import FakeLtiaas

pytest.importorskip("trustme")


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as started:
        yield started


def test_https_with_the_configs_ssl_context() -> None:
    with FakeLtiaas(tls=True) as fake:
        config = fake.config()  # its ssl_context trusts the fake's throwaway CA, and only it
        assert config.base_url.startswith("https://")
        assert config.ssl_context is not None
        ltik = fake.launch()
        with LtiaasClient(config) as client, launch_context(config, ltik):
            assert client.raw_idtoken()["sub"]

        async def main() -> str:
            async with AsyncLtiaasClient(config) as client:
                return (await client.platform(fake.platform_id)).id or ""

        assert asyncio.run(main()) == fake.platform_id


def test_an_untrusted_certificate_is_refused() -> None:
    from ltiaas_auth import LtiaasConfig, UpstreamError

    with FakeLtiaas(tls=True) as fake:
        config = LtiaasConfig(fake.api_key, fake.url)  # the system's trust store: not the fake's CA
        with LtiaasClient(config, max_retries=0) as client, pytest.raises(UpstreamError) as caught:
            client.platform(fake.platform_id)
    assert caught.value.upstream_status is None
    assert fake.calls == []


def test_a_loopback_ltiaas_never_goes_through_an_environment_proxy(
    fake: FakeLtiaas, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there: a proxied call would fail
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with LtiaasClient(fake.config(), max_retries=0) as client:
        assert client.platform(fake.platform_id).id == fake.platform_id
    assert len(fake.calls) == 1


def test_a_sequence_of_calls_uses_one_connection(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch()
    before = fake.connections
    with LtiaasClient(config) as client, launch_context(config, ltik):
        for _ in range(5):
            list(client.line_items())
            client.platform(fake.platform_id)
    assert fake.connections - before == 1

    async def main() -> None:
        async with AsyncLtiaasClient(config) as client:
            with launch_context(config, ltik):
                for _ in range(5):
                    await client.raw_idtoken()

    before = fake.connections
    asyncio.run(main())
    assert fake.connections - before == 1


def test_an_injected_async_client_is_used_and_never_closed(fake: FakeLtiaas) -> None:
    import httpx

    async def main() -> bool:
        seen: list[str] = []

        async def record(request: httpx.Request) -> None:
            seen.append(request.url.path)

        async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
            async with AsyncLtiaasClient(fake.config(), http=http) as client:
                with api_key_context(fake.config()):
                    await client.platform(fake.platform_id)
            assert seen == [f"/admin/platforms/{fake.platform_id}"]
            return http.is_closed

    assert asyncio.run(main()) is False
