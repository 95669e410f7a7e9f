"""The API client's transport: TLS with the config's ``ssl_context``, no environment proxy for a loopback
LTIAAS, one keep-alive connection for a sequence of calls, and no redirect followed."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
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


@contextlib.contextmanager
def dripping_server(seconds_per_byte: float) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that answers every request with a correct 204, one byte at a time
    (its headers only: a client that checks its deadline only while reading a body never notices)."""
    answer = b"HTTP/1.1 204 No Content\r\nX-Padding: " + b"x" * 100 + b"\r\n\r\n"
    stop = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                for byte in answer:
                    if stop.wait(seconds_per_byte):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_dripping_answer_is_cut_off_at_the_attempts_deadline(mode: str) -> None:
    from api_helpers import DRIVERS

    from ltiaas_auth import LtiaasConfig, UpstreamError

    # ~140 bytes at 20 ms each: every read is quick, the whole answer takes ~3 s, the timeout is 0.3 s
    with (
        dripping_server(0.02) as url,
        DRIVERS[mode](LtiaasConfig("key_0123456789", url), max_retries=0) as api,
        pytest.raises(UpstreamError) as caught,
    ):
        api("delete_platform", "p-1", timeout=0.3)
    assert caught.value.upstream_status is None
    assert "time" in caught.value.description
