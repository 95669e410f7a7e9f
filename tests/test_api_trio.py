"""AsyncLtiaasClient under trio: the same calls as under asyncio, with retries, listings and the idtoken."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio

from ltiaas_auth import api_key_context, launch_context, service_context
from ltiaas_auth.api import AsyncLtiaasClient
from ltiaas_auth.testing import FakeLtiaas


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as started:
        yield started


def test_calls_under_trio(fake: FakeLtiaas) -> None:
    config = fake.config()
    ltik = fake.launch(user_id="teacher", roles=["Instructor"], context_id="c")
    for n in range(5):
        fake.launch(user_id=f"s{n}", context_id="c")
    key = fake.service_key_for(ltik)
    assert key is not None

    async def main() -> tuple[list[str], float | None, str, bool]:
        async with AsyncLtiaasClient(config, max_retry_wait=0.05) as client:
            with launch_context(config, ltik):
                idtoken = await client.idtoken()
                roster = [m.user_id async for m in client.memberships(limit=2)]
            with service_context(config, key):
                item = await client.create_line_item(label="Quiz", score_maximum=10)
                await client.submit_score(item.id, user_id="s0", score_given=0, score_maximum=10)
                fake.fail_next(503)  # retried, with trio's sleep
                results = [r async for r in client.results(item.id)]
            with api_key_context(config):
                platform = await client.platform(fake.platform_id)
        assert platform.id == fake.platform_id
        return roster, results[0].result_score, idtoken.user.id, idtoken.roles.is_instructor

    async def bounded() -> tuple[list[str], float | None, str, bool]:
        with trio.fail_after(30):
            return await main()

    roster, score, user, instructor = trio.run(bounded)
    assert roster == ["teacher", "s0", "s1", "s2", "s3", "s4"]
    assert (score, user, instructor) == (0, "teacher", True)
    assert [c.status for c in fake.calls if c.path.endswith("/scores") and c.method == "GET"] == [503, 200]


def test_a_slow_answer_times_out_under_trio(fake: FakeLtiaas) -> None:
    from ltiaas_auth import UpstreamError

    fake.latency = 2.0

    async def main() -> None:
        async with AsyncLtiaasClient(fake.config(), max_retries=0) as client:
            with pytest.raises(UpstreamError) as caught:
                await client.platforms(timeout=0.2).__anext__()
            assert caught.value.upstream_status is None

    try:
        trio.run(main)
    finally:
        fake.latency = 0.0
