"""The event-loop check of every sync ``idtoken()``: its cheap trio probe answers as trio itself does."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

from ltiaas_auth import idtoken as idtoken_module
from ltiaas_auth.idtoken import _in_trio_run, on_event_loop


def _answers() -> tuple[bool, bool, bool]:
    return _in_trio_run(), trio.lowlevel.in_trio_run(), on_event_loop()


def test_the_shortcut_is_in_use() -> None:
    _in_trio_run()
    assert idtoken_module._TrioProbe.probe is not trio.lowlevel.in_trio_run


def test_outside_any_loop() -> None:
    assert _answers() == (False, False, False)


def test_on_another_thread_while_trio_runs_here() -> None:
    seen: list[tuple[bool, bool, bool]] = []

    async def main() -> tuple[bool, bool, bool]:
        thread = threading.Thread(target=lambda: seen.append(_answers()))
        thread.start()
        await trio.to_thread.run_sync(thread.join, 5.0)
        return _answers()

    assert trio.run(main) == (True, True, True)
    assert seen == [(False, False, False)]


def test_in_a_trio_worker_thread() -> None:
    async def main() -> tuple[bool, bool, bool]:
        return await trio.to_thread.run_sync(_answers)

    assert trio.run(main) == (False, False, False)


def test_after_a_run_ends() -> None:
    trio.run(trio.sleep, 0)
    assert _answers() == (False, False, False)


@pytest.mark.parametrize(
    "where", [pytest.param("trio task", id="trio-task"), pytest.param("host", id="host")]
)
def test_in_guest_mode_on_asyncio(where: str) -> None:
    """Trio in guest mode counts as running on the host's thread for the whole run, as trio says."""

    async def host() -> tuple[bool, bool, bool]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[object] = loop.create_future()
        answers: list[tuple[bool, bool, bool]] = []

        async def guest() -> None:
            answers.append(_answers())

        trio.lowlevel.start_guest_run(
            guest,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            done_callback=done.set_result,
            host_uses_signal_set_wakeup_fd=True,
        )
        if where == "host":
            await asyncio.sleep(0)
            answers.append(_answers())
        await asyncio.wait_for(done, 5.0)
        return answers[-1]

    inside, trio_says, refused = asyncio.run(host())
    assert inside == trio_says
    assert refused  # asyncio or trio: a sync idtoken() would stall a loop either way
