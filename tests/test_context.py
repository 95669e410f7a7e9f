"""Context-local credentials: isolation between threads and tasks, nesting, and no credential at all."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from ltik_factory import fresh_ltik, make_ltik

from ltiaas_auth import (
    ExpiredLtik,
    InvalidCredential,
    InvalidLtik,
    Launch,
    LtiaasConfig,
    NoLaunchContext,
    api_key_context,
    auth_header,
    auth_headers,
    current_launch,
    launch_context,
    service_context,
)

KEY = "api-key-123"
CONFIG = LtiaasConfig(KEY, "https://tool.ltiaas.com")


def test_no_credential_outside_every_context():
    with pytest.raises(NoLaunchContext) as info:
        auth_header()
    assert info.value.code == "NO_LAUNCH_CONTEXT"
    with pytest.raises(NoLaunchContext):
        auth_headers()
    with pytest.raises(NoLaunchContext):
        current_launch()


def test_each_kind_of_context():
    ltik = fresh_ltik()
    with launch_context(CONFIG, ltik) as launch:
        assert isinstance(launch, Launch)
        assert current_launch() is launch
        assert launch.config is CONFIG
        assert launch.ltik.raw == ltik
        assert auth_header() == f"LTIK-AUTH-V2 {KEY}:{ltik}"
        assert auth_headers() == {"Authorization": f"LTIK-AUTH-V2 {KEY}:{ltik}"}
    with service_context(CONFIG, "svc-key"):
        assert auth_header() == f"SERVICE-AUTH-V1 {KEY}:svc-key"
        with pytest.raises(NoLaunchContext):
            current_launch()
    with api_key_context(CONFIG):
        assert auth_header() == f"Bearer {KEY}"
        with pytest.raises(NoLaunchContext):
            current_launch()
    with pytest.raises(NoLaunchContext):
        auth_header()


def test_nesting_restores_the_outer_credential():
    outer, inner = fresh_ltik(), fresh_ltik()
    with launch_context(CONFIG, outer):
        with launch_context(CONFIG, inner):
            assert auth_header().endswith(inner)
            with api_key_context(CONFIG):
                assert auth_header() == f"Bearer {KEY}"
            assert auth_header().endswith(inner)
        assert auth_header().endswith(outer)
    with pytest.raises(NoLaunchContext):
        auth_header()


def test_an_exception_inside_still_restores():
    with pytest.raises(RuntimeError), launch_context(CONFIG, fresh_ltik()):
        raise RuntimeError("boom")
    with pytest.raises(NoLaunchContext):
        auth_header()


def test_launch_context_checks_expiry_on_entry_with_the_config_clock():
    expired = make_ltik(iat=1000, exp=2000)
    with pytest.raises(ExpiredLtik):
        launch_context(CONFIG, expired)
    frozen = LtiaasConfig(KEY, "https://tool.ltiaas.com", clock=lambda: 1500)
    with launch_context(frozen, expired) as launch:
        assert launch.ltik.raw == expired
    leeway = LtiaasConfig(KEY, "https://tool.ltiaas.com", clock=lambda: 2005, leeway=10)
    with launch_context(leeway, expired):
        pass
    no_exp = make_ltik(iat=1000)
    short = LtiaasConfig(KEY, "https://tool.ltiaas.com", clock=lambda: 1061, ltik_max_age=60)
    with pytest.raises(ExpiredLtik):
        launch_context(short, no_exp)


def test_bad_inputs_raise_typed_errors_before_anything_is_set():
    with pytest.raises(InvalidLtik):
        launch_context(CONFIG, "not-a-token")
    with pytest.raises(InvalidCredential):
        service_context(CONFIG, "bad key")
    with pytest.raises(NoLaunchContext):
        auth_header()


def test_a_scope_can_be_reused_and_nested_with_itself():
    scope = launch_context(CONFIG, fresh_ltik())
    with scope, scope:
        assert current_launch() is scope.credential
    with pytest.raises(NoLaunchContext):
        auth_header()
    with scope:
        assert current_launch() is scope.credential


def test_async_with():
    async def main() -> None:
        async with launch_context(CONFIG, fresh_ltik()) as launch:
            await asyncio.sleep(0)
            assert current_launch() is launch
        with pytest.raises(NoLaunchContext):
            auth_header()

    asyncio.run(main())


def test_200_threads_each_see_only_their_own_header():
    tokens = [fresh_ltik(n=i) for i in range(200)]
    barrier = threading.Barrier(200)

    def worker(ltik: str) -> list[str]:
        seen = []
        with launch_context(CONFIG, ltik):
            barrier.wait()  # everyone is inside a context at once
            for _ in range(20):
                seen.append(auth_header())
        with pytest.raises(NoLaunchContext):
            auth_header()
        return seen

    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(worker, tokens))
    for ltik, seen in zip(tokens, results, strict=True):
        assert seen == [f"LTIK-AUTH-V2 {KEY}:{ltik}"] * 20


def test_200_asyncio_tasks_each_see_only_their_own_header():
    tokens = [fresh_ltik(n=i) for i in range(200)]

    async def worker(ltik: str, entered: asyncio.Barrier) -> list[str]:
        seen = []
        with launch_context(CONFIG, ltik):
            await entered.wait()
            for _ in range(20):
                seen.append(auth_header())
                await asyncio.sleep(0)
        return seen

    async def main() -> list[list[str]]:
        entered = asyncio.Barrier(200)
        results = await asyncio.gather(*(worker(t, entered) for t in tokens))
        with pytest.raises(NoLaunchContext):
            auth_header()
        return list(results)

    results = asyncio.run(main())
    for ltik, seen in zip(tokens, results, strict=True):
        assert seen == [f"LTIK-AUTH-V2 {KEY}:{ltik}"] * 20


def test_a_thread_started_inside_a_context_does_not_inherit_it():
    seen = []
    with launch_context(CONFIG, fresh_ltik()):
        thread = threading.Thread(target=lambda: seen.append(contextvars.copy_context().run(_header_or_none)))
        thread.start()
        thread.join()
    assert seen == [None]


def _header_or_none() -> str | None:
    try:
        return auth_header()
    except NoLaunchContext:
        return None


def test_reprs_never_show_secrets():
    ltik = fresh_ltik()
    with launch_context(CONFIG, ltik) as launch:
        texts = [repr(launch), str(launch)]
    with service_context(CONFIG, "svc-secret-key") as service:
        texts += [repr(service), str(service)]
    with api_key_context(CONFIG) as api:
        texts += [repr(api), str(api)]
    for text in texts:
        assert KEY not in text
        assert ltik not in text
        assert "svc-secret-key" not in text


def test_credentials_are_immutable():
    with launch_context(CONFIG, fresh_ltik()) as launch, pytest.raises(AttributeError):
        launch.authorization = "Bearer other"  # type: ignore[misc]
