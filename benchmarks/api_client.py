"""The API client (``ltiaas_auth.api``): TCP connections for a sequence of calls, the client's own cost per
call against a hand-written httpx call, and two real tasks (a 1,000-member roster, a line item graded)
against the official client, ``ltiaas`` 0.0.4.

Everything runs against FakeLtiaas on 127.0.0.1, except the per-call cost, which goes through one
in-process ``httpx.MockTransport`` for both subjects so that only what each puts around httpx is compared.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from ltiaas_auth import LtiaasConfig, auth_headers, launch_context
from ltiaas_auth.api import LtiaasClient
from ltiaas_auth.testing import FakeLtiaas

#: DESIGN §7.
CONNECTIONS_TARGET = 1
COST_TARGET = 1.3
SEQUENCE = 20
ROSTER = 1000
PAGE = 100

_ITEM = "https://lms.example.edu/api/lti/courses/1/line_items/1/lineitem?type_id=1"
_ITEM_BODY = json.dumps(
    {
        "id": _ITEM,
        "label": "Quiz",
        "scoreMaximum": 10,
        "resourceLinkId": "r1",
        "startDateTime": "2026-09-01T08:00:00.000Z",
    }
).encode()


@dataclass(frozen=True)
class Flow:
    """One task done by one client: LTIAAS round trips, seconds, what it achieved, and the first failure."""

    round_trips: int
    seconds: float
    achieved: str
    error: str | None = None


@dataclass(frozen=True)
class ApiResults:
    connections: int
    ours_ns: float  # per call, through the in-process transport
    hand_ns: float
    roster_ours: Flow
    roster_official: Flow
    grade_ours: Flow
    grade_official: Flow


def run(fake: FakeLtiaas, *, calls: int, repeats: int) -> ApiResults:
    config = fake.config()
    ours, hand = per_call_cost(calls=calls, repeats=repeats)
    ltik = _roster_launch(fake)
    return ApiResults(
        connections=connections_for_sequence(fake, config),
        ours_ns=ours,
        hand_ns=hand,
        roster_ours=roster_ours(fake, config, ltik),
        roster_official=roster_official(fake, ltik),
        grade_ours=grade_ours(fake, config, ltik),
        grade_official=grade_official(fake, ltik),
    )


# --- 1. TCP connections for a sequence of calls


def connections_for_sequence(fake: FakeLtiaas, config: LtiaasConfig, calls: int = SEQUENCE) -> int:
    """TCP connections FakeLtiaas accepted for ``calls`` sequential calls of one client (GETs, POSTs,
    launch and API-key credentials mixed)."""
    ltik = fake.launch()
    before = fake.connections
    with LtiaasClient(config) as client, launch_context(config, ltik):
        for n in range(calls):
            if n % 4 == 0:
                client.create_line_item(label=f"Item {n}", score_maximum=10)
            elif n % 4 == 1:
                list(client.line_items())
            elif n % 4 == 2:
                client.platform(fake.platform_id)
            else:
                client.raw_idtoken()
    return fake.connections - before


# --- 2. the client's own cost per call


def per_call_cost(*, calls: int, repeats: int) -> tuple[float, float]:
    """CPU nanoseconds per ``client.line_item(id)`` and per the same GET written by hand over httpx
    (the id percent-encoded, ``auth_headers()``, ``raise_for_status()``, ``.json()``), both through one
    in-process transport; best of ``repeats`` interleaved runs of ``calls`` calls. CPU time, not wall
    time: on a shared machine the wall clock also counts the time other processes ran."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_ITEM_BODY, headers={"Content-Type": "application/json"})

    config = LtiaasConfig("benchmark-key_0123456789", "https://tenant.ltiaas.com")
    ltik = FakeLtiaas().launch()  # only minted: nothing here is sent to a server
    http = httpx.Client(transport=httpx.MockTransport(answer))
    client = LtiaasClient(config, http=http)

    def ours() -> None:
        client.line_item(_ITEM)

    def hand() -> None:
        response = http.get(
            f"{config.base_url}/api/lineitems/{quote(_ITEM, safe='')}", headers=auth_headers()
        )
        response.raise_for_status()
        response.json()

    with launch_context(config, ltik):
        best = {ours: float("inf"), hand: float("inf")}
        for subject in best:
            _time(subject, max(calls // 10, 50))  # warm up
        for _ in range(repeats):
            for subject in best:
                best[subject] = min(best[subject], _time(subject, calls))
    http.close()
    return best[ours], best[hand]


def _time(subject: Callable[[], None], calls: int) -> float:
    gc.collect()
    gc.disable()
    try:
        started = time.process_time_ns()
        for _ in range(calls):
            subject()
        return (time.process_time_ns() - started) / calls
    finally:
        gc.enable()


# --- 3. tasks against the official client


def _roster_launch(fake: FakeLtiaas) -> str:
    """A course of ``ROSTER`` members (each one launch of the fake's); the first one's ltik."""
    ltik = fake.launch(user_id="member-0000", roles=["Instructor"], context_id="big-course")
    for n in range(1, ROSTER):
        fake.launch(user_id=f"member-{n:04d}", context_id="big-course")
    return ltik


def _official(fake: FakeLtiaas, ltik: str) -> Any:
    """The official client on the fake (its base URL swapped for the fake's plain-HTTP one; see
    ``idtokens._official_client``)."""
    from .idtokens import _official_client

    return _official_client(fake.url, fake.api_key, ltik)


def _flow(fake: FakeLtiaas, task: Callable[[list[str]], None]) -> Flow:
    """Run ``task`` (which appends what it achieves), timing it and counting LTIAAS round trips."""
    since = len(fake.calls)
    achieved: list[str] = []
    started = time.perf_counter()
    error = None
    try:
        task(achieved)
    except Exception as failure:  # the official client failing against the fake is a finding
        error = _describe(failure)
    seconds = time.perf_counter() - started
    return Flow(len(fake.calls) - since, seconds, ", ".join(achieved) or "nothing", error)


def _describe(failure: Exception) -> str:
    """The official client's APIError as LTIAAS's status and message (its description is dropped)."""
    response = getattr(failure, "response", None)
    if response is not None and hasattr(response, "status"):
        message = getattr(response.details, "message", None)
        return f"{type(failure).__name__} {response.status} {message}"
    return f"{type(failure).__name__}: {' '.join(str(failure).split())[:80]}"


def roster_ours(fake: FakeLtiaas, config: LtiaasConfig, ltik: str) -> Flow:
    def task(achieved: list[str]) -> None:
        with LtiaasClient(config) as client, launch_context(config, ltik):
            members = [member.user_id for member in client.memberships(limit=PAGE)]
        assert members == [f"member-{n:04d}" for n in range(ROSTER)]
        achieved.append(f"{len(members)} members, in order")

    return _flow(fake, task)


def roster_official(fake: FakeLtiaas, ltik: str) -> Flow:
    def task(achieved: list[str]) -> None:
        client = _official(fake, ltik)
        page = client.get_memberships(limit=PAGE)
        members = [member.user_id for member in page.members]
        achieved.append(f"{len(members)} members")
        while page.next:  # its own way to the next page: the link as `url=`
            page = client.get_memberships(url=page.next, limit=PAGE)
            members += [member.user_id for member in page.members]
            achieved[-1] = f"{len(members)} members"

    return _flow(fake, task)


def grade_ours(fake: FakeLtiaas, config: LtiaasConfig, ltik: str) -> Flow:
    def task(achieved: list[str]) -> None:
        with LtiaasClient(config) as client, launch_context(config, ltik):
            item = client.create_line_item(
                label="Essay", score_maximum=10, resource_link_id="link-1", start_date_time=datetime.now(UTC)
            )
            achieved.append("line item created")
            assert item.id is not None
            client.submit_score(item.id, user_id="member-0001", score_given=0, score_maximum=10)
            achieved.append("score 0 sent")
            (result,) = client.results(item.id, user_id="member-0001")
            assert result.result_score == 0
            achieved.append("result read")

    return _flow(fake, task)


def grade_official(fake: FakeLtiaas, ltik: str) -> Flow:
    def task(achieved: list[str]) -> None:
        from ltiaas.resources.lineitems.types import LineItem  # type: ignore[import-untyped]
        from ltiaas.resources.scores.enums import ActivityProgress, GradingProgress  # type: ignore[import-untyped]
        from ltiaas.resources.scores.types import Score  # type: ignore[import-untyped]

        client = _official(fake, ltik)
        try:  # the same line item as ours, with its start date
            item = client.create_line_item(
                LineItem(
                    label="Essay",
                    score_maximum=10,
                    resource_link_id="link-1",
                    start_date_time=datetime.now(UTC),
                )
            )
        except Exception:  # its serialiser cannot write a datetime: try again without the date
            achieved.append("no start date (crashes)")
            item = client.create_line_item(
                LineItem(label="Essay", score_maximum=10, resource_link_id="link-1")
            )
        achieved.append("line item created")
        score = Score(
            user_id="member-0001",
            activity_progress=ActivityProgress.COMPLETED,
            grading_progress=GradingProgress.FULLY_GRADED,
            score_given=0,
            score_maximum=10,
        )
        client.submit_score(item.id, score)
        achieved.append("score 0 sent")
        client.get_scores(item.id, user_id="member-0001")
        achieved.append("result read")

    return _flow(fake, task)


# --- the report


def report(results: ApiResults) -> list[str]:
    ratio = results.ours_ns / results.hand_ns
    lines = [
        "6. API client (ltiaas_auth.api)",
        f"   TCP connections for {SEQUENCE} sequential calls of one LtiaasClient: {results.connections}",
        f"   per call, in-process transport: LtiaasClient.line_item() {results.ours_ns / 1000:.1f} µs, "
        f"hand-written httpx GET {results.hand_ns / 1000:.1f} µs ({ratio:.2f}x)",
        f"   {'task':44}{'client':22}{'round trips':>12}{'time':>10}   result",
    ]
    for task, ours, official in (
        (f"roster of {ROSTER:,}, pages of {PAGE}", results.roster_ours, results.roster_official),
        ("line item + score 0 + read back", results.grade_ours, results.grade_official),
    ):
        for name, flow in (
            (f"ltiaas_auth {_version('ltiaas-auth')}", ours),
            (f"ltiaas {_version('ltiaas')}", official),
        ):
            outcome = flow.achieved + (f"; then failed: {flow.error}" if flow.error else "")
            lines.append(
                f"   {task:44}{name:22}{flow.round_trips:>12}{flow.seconds * 1000:>8.1f} ms   {outcome}"
            )
            task = ""
    return lines


def targets(results: ApiResults) -> list[tuple[str, str, bool]]:
    ratio = results.ours_ns / results.hand_ns
    return [
        (
            f"one TCP connection, {SEQUENCE} API client calls",
            f"{results.connections}",
            results.connections == CONNECTIONS_TARGET,
        ),
        (
            f"API client per call <= {COST_TARGET}x hand-written httpx",
            f"{results.ours_ns / 1000:.1f} vs {results.hand_ns / 1000:.1f} µs ({ratio:.2f}x)",
            ratio <= COST_TARGET,
        ),
        (
            f"roster of {ROSTER:,} ({ROSTER // PAGE} calls, all, in order)",
            f"{results.roster_ours.round_trips} calls",
            results.roster_ours.error is None and results.roster_ours.round_trips == ROSTER // PAGE,
        ),
    ]


def _version(name: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"
