"""Part 8 of the table: what the Flask extension (``ltiaas_auth.flask.Ltiaas``) adds to a Flask request,
beside what the plain WSGI middleware adds.

Flask apps with the same view (a function answering ``{}``): bare; wrapped by hand in
``LtiaasMiddleware``, with its defaults and with the extension's (the ``form`` source added); and with
``Ltiaas(app)`` (its defaults, the error rendering and the template globals registered). The
extension's gate is that same middleware, so the last two run the same code per request.
All get the headline request (a browser ``fetch()`` behind a proxy, the warm ltik in ``Authorization:
Bearer``, its launch confirmed once and remembered) through the same driver as part 1, taking turns. The
plain middleware over the bare WSGI app of part 1 is measured beside them, on the same request.

A Flask request costs some 30 µs, sixty times the margin the target allows, and on a shared machine
a batch of them absorbs whatever else runs. So besides part 1's figures (best batch, wall clock) this
part times the apps *paired*: round after round, one request to each app in a rotating order, each timed
on its own; the figure is the median over the rounds of each app's time minus the bare app's in the same
round. A round another process interrupted is an outlier the median ignores; the verdict is on these.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
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


def paired(apps: Mapping[str, WSGIApplication], environ: WSGIEnvironment, rounds: int) -> dict[str, float]:
    """Median nanoseconds of each app minus ``apps["bare"]`` in the same round (``"bare"``: its own
    median), one request per app per round, served as ``harness.time_wsgi`` serves them."""
    names = list(apps)
    samples: dict[str, list[int]] = {name: [] for name in names}
    start_response: Any = _start_response
    clock = time.perf_counter_ns
    with quiet_gc():
        for turn in range(rounds):
            shift = turn % len(names)
            for name in names[shift:] + names[:shift]:
                app = apps[name]
                started = clock()
                body = app(environ.copy(), start_response)
                for _chunk in body:
                    pass
                close = getattr(body, "close", None)
                if close is not None:
                    close()
                samples[name].append(clock() - started)
    bare = samples["bare"]
    medians = {"bare": float(statistics.median(bare))}
    for name in names:
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


def measure(config: LtiaasConfig, ltik: str, sizes: Sizes) -> FlaskOverheads:
    from ltiaas_auth.flask import FLASK_SOURCES, Ltiaas

    bare = _flask()
    plain = _flask()
    plain.wsgi_app = LtiaasMiddleware(plain.wsgi_app, config)  # type: ignore[method-assign]
    matched = _flask()
    matched.wsgi_app = LtiaasMiddleware(matched.wsgi_app, config, sources=FLASK_SOURCES)  # type: ignore[method-assign]
    extended = _flask()
    Ltiaas(extended, config=config)
    wsgi_ours = LtiaasMiddleware(bare_wsgi, config)
    apps: dict[str, WSGIApplication] = {"bare": bare, "plain": plain, "same": matched, "extension": extended}
    environ = Request(BROWSER_HEADERS + PROXY_HEADERS + (("Authorization", f"Bearer {ltik}"),)).environ()
    checked: list[WSGIApplication] = [*apps.values(), wsgi_ours]
    for app in checked:
        if wsgi_status(app, environ) != 200:  # this also confirms the launch once, as a first request does
            raise RuntimeError("a Flask case does not reach the view: the figures would mean nothing")
    batch = [environ] * sizes.requests

    def requests() -> list[WSGIEnvironment]:
        return batch

    def same(app: WSGIApplication) -> Callable[[], WSGIApplication]:
        return lambda: app

    flask = best_of(sizes.repeats, requests, {name: same(app) for name, app in apps.items()}, time_wsgi)
    wsgi = best_of(sizes.repeats, requests, {"bare": same(bare_wsgi), "ours": same(wsgi_ours)}, time_wsgi)
    batch_figures = Figures(
        bare=flask["bare"],
        extension=flask["extension"] - flask["bare"],
        plain=flask["plain"] - flask["bare"],
        same=flask["same"] - flask["bare"],
        wsgi=wsgi["ours"] - wsgi["bare"],
    )
    rounds = sizes.requests * sizes.repeats // 10
    flask_rounds = paired(apps, environ, rounds)
    wsgi_rounds = paired({"bare": bare_wsgi, "ours": wsgi_ours}, environ, rounds)
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

    return [
        f"8. The Flask extension, per request over a bare Flask app, in {us} "
        f"(bare Flask app alone: {by_round.bare / 1000:.2f})",
        f"   {'':58}{'paired':>8}{'batch':>8}",
        row("Ltiaas(app): the extension (headline)", "extension"),
        row("LtiaasMiddleware wrapped around app.wsgi_app by hand", "plain"),
        row("  the same, with the extension's form source", "same"),
        row("LtiaasMiddleware over the bare WSGI app (as in part 1)", "wsgi"),
    ]


def target(overheads: FlaskOverheads) -> tuple[str, str, bool]:
    """``(label, figure, passed)``: the extension adds no more than the hand-wrapped middleware + 0.5 µs
    (paired medians)."""
    figures = overheads.paired
    limit = figures.plain + TARGET_NS
    figure = f"{figures.extension / 1000:.2f} <= {limit / 1000:.2f} µs"
    return "Flask extension <= plain middleware + 0.5 µs", figure, figures.extension <= limit
