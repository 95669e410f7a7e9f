"""Part 8 of the table: what the Flask extension (``ltiaas_auth.flask.Ltiaas``) adds to a Flask request,
beside what the plain WSGI middleware adds.

Flask apps with the same view (a function answering ``{}``): bare; wrapped by hand in
``LtiaasMiddleware``, with its defaults and with the extension's (the ``form`` source added); and with
``Ltiaas(app)`` (its defaults, the error rendering and the template globals registered). The
extension's gate is that same middleware, so the last two run the same code per request.
All get the headline request (a browser ``fetch()`` behind a proxy, the warm ltik in ``Authorization:
Bearer``, its launch confirmed once and remembered) through the same driver as part 1, taking turns. The
plain middleware over the bare WSGI app of part 1 is measured beside them, on the same request.

A Flask request costs some 30 to 70 µs, 60 to 140 times the margin the target allows, and on a shared
machine a batch of them absorbs whatever else runs. So besides part 1's figures (best batch, wall
clock) this part times the apps *paired*: round after round, one request to each app in a shuffled
order, each timed on its own; the figure is the median over the rounds of each kind's time minus the
bare app's in the same round. A round another process interrupted is an outlier the median ignores.
Eight apps of each kind take part, their times averaged per round, because two apps built alike already
differ by a few tenths of a µs (where they sit in memory). The verdict is on the paired figures.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ltiaas_auth import LtiaasMiddleware

from .harness import (
    BROWSER_HEADERS,
    PROXY_HEADERS,
    Request,
    bare_wsgi,
    best_of,
    quiet_gc,
    time_wsgi,
    wsgi_status,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment
    from flask import Flask

    from ltiaas_auth import LtiaasConfig

    from .middleware import Sizes

__all__ = ["TARGET_NS", "Figures", "FlaskOverheads", "measure", "paired", "report", "target"]

#: The issue's bar: the extension adds at most what the plain middleware adds, plus 0.5 µs.
TARGET_NS = 500.0


@dataclass(frozen=True)
class Figures:
    """Nanoseconds per request, by one method."""

    bare: float  # the bare Flask app
    extension: float  # what Ltiaas(app) adds to it (the headline)
    plain: float  # what LtiaasMiddleware, wrapped by hand, adds to it
    same: float  # the same, given the extension's defaults (the form source)
    wsgi: float  # what LtiaasMiddleware adds to the bare WSGI app of part 1


@dataclass(frozen=True)
class FlaskOverheads:
    paired: Figures  # medians of paired rounds (the verdict)
    batch: Figures  # best batch, as in part 1


def paired(
    kinds: Mapping[str, Sequence[WSGIApplication]], environ: WSGIEnvironment, rounds: int
) -> dict[str, float]:
    """Median over ``rounds`` of each kind's time minus ``kinds["bare"]``'s in the same round, in
    nanoseconds (``"bare"``: its own median). A round serves one request to every app of every kind, as
    ``harness.time_wsgi`` serves them, in an order shuffled anew each round (in a fixed order each app
    always follows the same one, and what ran just before shows in a request's time). A kind's time in a
    round is the mean of its apps', so that where an app happens to sit in memory (worth a few tenths of
    a µs between two apps built alike) averages out."""
    order = [(name, app) for name, apps in kinds.items() for app in apps]
    shuffle = random.Random(0).shuffle  # the same sequence in every run
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    start_response: Any = _start_response
    clock = time.perf_counter_ns
    with quiet_gc():
        for _ in range(rounds):
            shuffle(order)
            spent = dict.fromkeys(kinds, 0)
            for name, app in order:
                started = clock()
                body = app(environ.copy(), start_response)
                for _chunk in body:
                    pass
                close = getattr(body, "close", None)
                if close is not None:
                    close()
                spent[name] += clock() - started
            for name, apps in kinds.items():
                samples[name].append(spent[name] / len(apps))
    bare = samples["bare"]
    medians = {"bare": float(statistics.median(bare))}
    for name in kinds:
        if name != "bare":
            medians[name] = float(statistics.median(a - b for a, b in zip(samples[name], bare, strict=True)))
    return medians


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
    return None


def _flask() -> Flask:
    from flask import Flask, Response

    app = Flask("benchmark")
    answer = b"{}"

    @app.get("/api/grades")
    def grades() -> Response:
        return Response(answer, mimetype="application/json")

    return app


def _kinds(config: LtiaasConfig, turn: int) -> dict[str, WSGIApplication]:
    """One Flask app of each kind, built in an order rotated by ``turn`` (what is built first and last
    sits differently in memory)."""
    from ltiaas_auth.flask import FLASK_SOURCES, Ltiaas

    def bare() -> Flask:
        return _flask()

    def plain() -> Flask:
        app = _flask()
        app.wsgi_app = LtiaasMiddleware(app.wsgi_app, config)  # type: ignore[method-assign]
        return app

    def same() -> Flask:
        app = _flask()
        app.wsgi_app = LtiaasMiddleware(app.wsgi_app, config, sources=FLASK_SOURCES)  # type: ignore[method-assign]
        return app

    def extension() -> Flask:
        app = _flask()
        Ltiaas(app, config=config)
        return app

    makers = [("bare", bare), ("plain", plain), ("same", same), ("extension", extension)]
    shift = turn % len(makers)
    return {name: make() for name, make in makers[shift:] + makers[:shift]}


#: Apps built of each kind for the paired rounds.
INSTANCES = 8


def measure(config: LtiaasConfig, ltik: str, sizes: Sizes) -> FlaskOverheads:
    builds = [_kinds(config, turn) for turn in range(INSTANCES)]
    kinds = {name: [build[name] for build in builds] for name in builds[0]}
    wsgi_ours = LtiaasMiddleware(bare_wsgi, config)
    environ = Request(BROWSER_HEADERS + PROXY_HEADERS + (("Authorization", f"Bearer {ltik}"),)).environ()
    checked: list[WSGIApplication] = [*(app for apps in kinds.values() for app in apps), wsgi_ours]
    for app in checked:
        if wsgi_status(app, environ) != 200:  # this also confirms the launch once, as a first request does
            raise RuntimeError("a Flask case does not reach the view: the figures would mean nothing")
    batch = [environ] * max(sizes.requests // 5, 1)  # a Flask request costs some 50 of part 1's

    def requests() -> list[WSGIEnvironment]:
        return batch

    def same(app: WSGIApplication) -> Callable[[], WSGIApplication]:
        return lambda: app

    first = builds[0]
    flask = best_of(sizes.repeats, requests, {name: same(app) for name, app in first.items()}, time_wsgi)
    wsgi = best_of(sizes.repeats, requests, {"bare": same(bare_wsgi), "ours": same(wsgi_ours)}, time_wsgi)
    batch_figures = Figures(
        bare=flask["bare"],
        extension=flask["extension"] - flask["bare"],
        plain=flask["plain"] - flask["bare"],
        same=flask["same"] - flask["bare"],
        wsgi=wsgi["ours"] - wsgi["bare"],
    )
    rounds = max(sizes.requests * sizes.repeats // (10 * INSTANCES), 1)
    flask_rounds = paired(kinds, environ, rounds)
    wsgi_rounds = paired({"bare": [bare_wsgi], "ours": [wsgi_ours]}, environ, rounds * INSTANCES)
    paired_figures = Figures(
        bare=flask_rounds["bare"],
        extension=flask_rounds["extension"],
        plain=flask_rounds["plain"],
        same=flask_rounds["same"],
        wsgi=wsgi_rounds["ours"],
    )
    return FlaskOverheads(paired=paired_figures, batch=batch_figures)


def report(overheads: FlaskOverheads, us: str) -> list[str]:
    """The table's lines for this part (``us``: how the table spells microseconds)."""
    by_round, by_batch = overheads.paired, overheads.batch

    def row(label: str, field: str) -> str:
        return f"   {label:58}{getattr(by_round, field) / 1000:>8.2f}{getattr(by_batch, field) / 1000:>8.2f}"

    defaults = by_round.extension - by_round.plain
    return [
        f"8. The Flask extension, per request over a bare Flask app, in {us} "
        f"(bare Flask app alone: {by_round.bare / 1000:.2f})",
        f"   {'':58}{'paired':>8}{'batch':>8}",
        row("Ltiaas(app): the extension (headline)", "extension"),
        row("LtiaasMiddleware by hand, the extension's sources", "same"),
        row("LtiaasMiddleware by hand, its own defaults", "plain"),
        row("LtiaasMiddleware over the bare WSGI app (as in part 1)", "wsgi"),
        f"   the extension over the middleware at its defaults (the form source included): "
        f"{defaults / 1000:.2f} {us}",
    ]


def target(overheads: FlaskOverheads) -> tuple[str, str, bool]:
    """``(label, figure, passed)``: the extension adds no more than the middleware wrapped by hand with
    the same sources, plus 0.5 µs (paired figures)."""
    figures = overheads.paired
    limit = figures.same + TARGET_NS
    figure = f"{figures.extension / 1000:.2f} <= {limit / 1000:.2f} µs"
    return "Flask extension <= the middleware + 0.5 µs", figure, figures.extension <= limit
