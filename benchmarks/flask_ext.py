"""Part 8 of the table: what the Flask extension (``ltiaas_auth.flask.Ltiaas``) adds to a Flask request,
beside what the plain WSGI middleware adds.

Three Flask apps with the same view (a function answering ``{}``): bare, wrapped by hand in
``LtiaasMiddleware`` (its defaults), and with ``Ltiaas(app)`` (its defaults: the ``form`` source, the
static folder and the script's URL exempt, the error rendering and the template globals registered).
All get the headline request (a browser ``fetch()`` behind a proxy, the warm ltik in ``Authorization:
Bearer``, its launch confirmed once and remembered) through the same driver as part 1, taking turns. The
plain middleware over the bare WSGI app of part 1 is measured beside them, on the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ltiaas_auth import LtiaasMiddleware

from .harness import BROWSER_HEADERS, PROXY_HEADERS, Request, bare_wsgi, best_of, time_wsgi, wsgi_status

if TYPE_CHECKING:
    from collections.abc import Callable

    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment
    from flask import Flask

    from ltiaas_auth import LtiaasConfig

    from .middleware import Sizes

__all__ = ["TARGET_NS", "FlaskOverheads", "measure"]

#: The issue's bar: the extension adds at most what the plain middleware adds, plus 0.5 µs.
TARGET_NS = 500.0


@dataclass(frozen=True)
class FlaskOverheads:
    """Nanoseconds per request."""

    bare: float  # the bare Flask app
    extension: float  # what Ltiaas(app) adds to it (the headline)
    plain: float  # what LtiaasMiddleware, wrapped by hand, adds to it
    wsgi: float  # what LtiaasMiddleware adds to the bare WSGI app of part 1


def _flask() -> Flask:
    from flask import Flask, Response

    app = Flask("benchmark")
    answer = b"{}"

    @app.get("/api/grades")
    def grades() -> Response:
        return Response(answer, mimetype="application/json")

    return app


def measure(config: LtiaasConfig, ltik: str, sizes: Sizes) -> FlaskOverheads:
    from ltiaas_auth.flask import Ltiaas

    bare = _flask()
    plain = _flask()
    plain.wsgi_app = LtiaasMiddleware(plain.wsgi_app, config)  # type: ignore[method-assign]
    extended = _flask()
    Ltiaas(extended, config=config)
    wsgi_ours = LtiaasMiddleware(bare_wsgi, config)
    apps: dict[str, WSGIApplication] = {"bare": bare, "plain": plain, "extension": extended}
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
    return FlaskOverheads(
        bare=flask["bare"],
        extension=flask["extension"] - flask["bare"],
        plain=flask["plain"] - flask["bare"],
        wsgi=wsgi["ours"] - wsgi["bare"],
    )


def report(overheads: FlaskOverheads, us: str) -> list[str]:
    """The table's lines for this part (``us``: how the table spells microseconds)."""

    def row(label: str, ns: float) -> str:
        return f"   {label:66}{ns / 1000:>8.2f}"

    return [
        f"8. The Flask extension, per request over a bare Flask app, in {us} "
        f"(bare Flask app alone: {overheads.bare / 1000:.2f})",
        row("Ltiaas(app): the extension (headline)", overheads.extension),
        row("LtiaasMiddleware wrapped around app.wsgi_app by hand", overheads.plain),
        row("LtiaasMiddleware over the bare WSGI app (as in part 1)", overheads.wsgi),
    ]


def target(overheads: FlaskOverheads) -> tuple[str, str, bool]:
    """``(label, figure, passed)``: the extension adds no more than the hand-wrapped middleware + 0.5 µs."""
    limit = overheads.plain + TARGET_NS
    figure = f"{overheads.extension / 1000:.2f} <= {limit / 1000:.2f} µs"
    return "Flask extension <= plain middleware + 0.5 µs", figure, overheads.extension <= limit
