"""Parts 2 to 4 of the table: the idtoken cache, against a FakeLtiaas on 127.0.0.1.

Round trips and fetches are counted where LTIAAS would count them, in ``fake.calls`` (what the server
answered), not from our own statistics.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ltiaas_auth import LtiaasMiddleware, current_launch, launch_context

from .harness import Request, quiet_gc, time_wsgi

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ltiaas_auth import LtiaasConfig
    from ltiaas_auth.testing import FakeLtiaas

CALLERS = 64
READS = 100
#: Added answer delays for the single-flight rounds: none (the race is tightest), and one long enough
#: that all 64 callers are surely waiting while the fetch is in flight.
LATENCIES = (0.0, 0.05)


def cached_read(config: LtiaasConfig, ltik: str, *, reads: int, repeats: int) -> float:
    """Best nanoseconds per ``launch.idtoken()`` on an entry already cached (the loop's own cost, about
    20 ns, is included). In the full run trio is imported by then (httpcore imports it when installed),
    as in any app using httpx beside trio, so the sync read's event-loop check includes the trio probe."""
    with launch_context(config, ltik) as launch:
        launch.idtoken()  # the one fetch; every read below is a hit
        read = launch.idtoken
        best = float("inf")
        for _ in range(repeats):
            with quiet_gc():
                start = time.thread_time_ns()
                for _ in range(reads):
                    read()
                best = min(best, (time.thread_time_ns() - start) / reads)
    return best


def fetches(fake: FakeLtiaas, ltik: str, since: int) -> int:
    """``GET /api/idtoken`` calls for ``ltik`` the fake answered after its ``since``-th call."""
    return sum(
        1
        for call in fake.calls[since:]
        if call.path.endswith("/api/idtoken") and (call.authorization or "").endswith(f":{ltik}")
    )


def _threads_round(config: LtiaasConfig, ltik: str) -> list[dict[str, Any]]:
    barrier = threading.Barrier(CALLERS)
    with launch_context(config, ltik) as launch, ThreadPoolExecutor(CALLERS) as pool:

        def caller() -> dict[str, Any]:
            barrier.wait(timeout=30)  # all 64 ask at once
            return launch.idtoken()

        futures = [pool.submit(caller) for _ in range(CALLERS)]
        return [future.result(timeout=60) for future in futures]


async def _tasks_round(config: LtiaasConfig, ltik: str) -> list[dict[str, Any]]:
    with launch_context(config, ltik) as launch:
        return await asyncio.gather(*(launch.aidtoken() for _ in range(CALLERS)))


def single_flight(fake: FakeLtiaas, config: LtiaasConfig, *, kind: str, rounds: int) -> list[int]:
    """Upstream fetches per round, each round being 64 concurrent callers (threads, or asyncio tasks in
    one loop) asking for the idtoken of one new launch. Every caller must get the same idtoken."""
    counts = []
    for latency in LATENCIES:
        for _ in range(rounds):
            ltik, since = fake.launch(), len(fake.calls)
            fake.latency = latency
            try:
                idtokens = (
                    _threads_round(config, ltik)
                    if kind == "threads"
                    else asyncio.run(_tasks_round(config, ltik))
                )
            finally:
                fake.latency = 0.0
            if len(idtokens) != CALLERS or any(idtoken is not idtokens[0] for idtoken in idtokens):
                raise RuntimeError(f"single flight ({kind}): the callers did not all get the one idtoken")
            counts.append(fetches(fake, ltik, since))
    return counts


@dataclass(frozen=True)
class ViewRun:
    """A view reading the idtoken ``READS`` times for one launch: round trips to LTIAAS and the time."""

    round_trips: int
    seconds: float
    error: str | None = None


def _official_client(url: str, api_key: str, ltik: str) -> Any:
    """The official client (``ltiaas`` on PyPI) pointed at the fake.

    It hard-codes ``https://{domain}`` (``ltiaas/client/base.py``) and the fake is plain HTTP on loopback,
    so its base URL is replaced after construction; that is all that is changed. Its ``requests``
    session, paths (with their doubled slash), ``Authorization`` value and response validation are its own.
    """
    from ltiaas import LTIAASLaunch  # type: ignore[import-untyped]

    client = LTIAASLaunch(domain=urlsplit(url).netloc, api_key=api_key, ltik=ltik)
    client._request_handler.base_url = url
    return client


def _bearer(environ: WSGIEnvironment) -> str:
    return str(environ.get("HTTP_AUTHORIZATION", "")).removeprefix("Bearer ")


def _serve(app: Any, fake: FakeLtiaas, ltik: str) -> ViewRun:
    """One request for ``ltik`` through ``app``, timed with the same driver as part 1."""
    since = len(fake.calls)
    environ = Request((("Authorization", f"Bearer {ltik}"),), path="/view").environ()
    try:
        elapsed = time_wsgi(app, [environ]) / 1e9
    except Exception as error:  # the official client failing against the fake is a finding, not a crash
        return ViewRun(len(fake.calls) - since, float("nan"), f"{type(error).__name__}")
    return ViewRun(len(fake.calls) - since, elapsed)


def view_ours(fake: FakeLtiaas, config: LtiaasConfig) -> ViewRun:
    """Behind ``LtiaasMiddleware``: the launch is current, its idtoken fetched once, then cached."""

    def view(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        launch = current_launch()
        user = ""
        for _ in range(READS):
            user = launch.idtoken()["user"]["id"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [user.encode()]

    return _serve(LtiaasMiddleware(view, config), fake, fake.launch())


def view_official(fake: FakeLtiaas) -> ViewRun:
    """With the official client: one ``LTIAASLaunch`` per request (it is bound to one ltik, as in its
    README), from the ltik the front end sent; every ``get_id_token()`` calls LTIAAS (it has no cache)."""

    def view(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        client = _official_client(fake.url, fake.api_key, _bearer(environ))
        user = ""
        for _ in range(READS):
            user = client.get_id_token().user.id
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [user.encode()]

    return _serve(view, fake, fake.launch())


def median_run(runs: list[ViewRun]) -> ViewRun:
    """The run of median time (round trips are the same in every run); the first error, if any."""
    errors = [run for run in runs if run.error is not None]
    if errors:
        return errors[0]
    seconds = statistics.median(run.seconds for run in runs)
    return ViewRun(max(run.round_trips for run in runs), seconds)
