"""The Django part of the table: what ``ltiaas_auth.django.LtiaasMiddleware`` (a ``MIDDLEWARE`` entry)
adds to a Django request, beside what the plain WSGI ``LtiaasMiddleware`` adds when it wraps the same
Django application (the other way to put the gate in front of Django).

Django's whole ``WSGIHandler`` (a function view answering ``{}``) is timed three ways, in turns: with
``MIDDLEWARE`` empty (bare), with our middleware in it (native), and bare but wrapped in
``LtiaasMiddleware`` (wrapped). Native and wrapped run the same gate with the same options that matter
(``prefetch_idtoken=True``, the confirmed launch remembered) on the same headline request (a browser
``fetch()`` behind a proxy, the warm ltik in ``Authorization: Bearer``). Inside a real application the
gate costs several times what it costs over part 1's bare WSGI app (Django's own work between two requests
leaves the gate's data out of the CPU caches), so the comparison is made over the same application, the
way a project would choose between the two. Part 1's figure is shown beside them. CPU time of the thread
(the verdict is a 0.5 µs margin, which a busy machine's scheduling would otherwise decide): Django's
handler costs about a hundred times the gate, so the runs are many and short, and the best one counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ltiaas_auth import LtiaasMiddleware

from .harness import (
    BROWSER_HEADERS,
    PROXY_HEADERS,
    Request,
    bare_wsgi,
    best_of,
    time_wsgi,
    wsgi_status,
)

if TYPE_CHECKING:
    from ltiaas_auth import LtiaasConfig

    from .middleware import Sizes

__all__ = ["TARGET_NS", "DjangoOverheads", "measure", "report", "target"]

#: The issue's bar: the Django middleware adds at most what the WSGI middleware adds, plus 0.5 µs.
TARGET_NS = 500.0
OURS = "ltiaas_auth.django.LtiaasMiddleware"
#: Requests per timed run, and runs per figure, as multiples of the table's sizes: short runs, many.
_BATCH_SHARE = 50
_REPEATS_FACTOR = 4


@dataclass(frozen=True)
class DjangoOverheads:
    """Nanoseconds per request."""

    bare: float  # Django's whole handler, MIDDLEWARE empty
    native: float  # what our Django middleware adds to it (the headline)
    wrapped: float  # what LtiaasMiddleware, wrapped around it, adds
    wsgi: float  # what LtiaasMiddleware adds to part 1's bare WSGI app


def _view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(b"{}", content_type="application/json")


urlpatterns: list[Any] = []


def _setup(config: LtiaasConfig) -> None:
    """Settings made for this benchmark (``LTIAAS`` pointed at ``config``'s LTIAAS), once per process."""
    import django
    from django.conf import settings
    from django.test.utils import override_settings
    from django.urls import path

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark-only",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=["ltiaas_auth.django"],
            MIDDLEWARE=[],
            DATABASES={},
            USE_TZ=True,
        )
        django.setup()
    urlpatterns[:] = [path("api/grades", _view)]
    # For the rest of the process: the middleware reads the setting per request.
    override_settings(LTIAAS={"API_KEY": config.api_key, "URL": config.base_url}).enable()


def measure(config: LtiaasConfig, ltik: str, sizes: Sizes) -> DjangoOverheads:
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    _setup(config)
    bare = WSGIHandler()
    with override_settings(MIDDLEWARE=[OURS]):
        native = WSGIHandler()  # the middleware list is read when the handler is built
    wrapped = LtiaasMiddleware(WSGIHandler(), config, prefetch_idtoken=True)
    wsgi_ours = LtiaasMiddleware(bare_wsgi, config, prefetch_idtoken=True)
    environ = Request(BROWSER_HEADERS + PROXY_HEADERS + (("Authorization", f"Bearer {ltik}"),)).environ()
    for app in (bare, native, wrapped, wsgi_ours):
        if wsgi_status(app, environ) != 200:  # this also confirms the launch once, as a first request does
            raise RuntimeError("a Django case does not reach the view: the figures would mean nothing")
    repeats = sizes.repeats * _REPEATS_FACTOR
    batch = [environ] * max(1, sizes.requests // _BATCH_SHARE)
    django = best_of(
        repeats,
        lambda: batch,
        {"bare": _same(bare), "native": _same(native), "wrapped": _same(wrapped)},
        time_wsgi,
    )
    environs = [environ] * sizes.requests
    wsgi = best_of(
        sizes.repeats, lambda: environs, {"bare": _same(bare_wsgi), "ours": _same(wsgi_ours)}, time_wsgi
    )
    return DjangoOverheads(
        bare=django["bare"],
        native=django["native"] - django["bare"],
        wrapped=django["wrapped"] - django["bare"],
        wsgi=wsgi["ours"] - wsgi["bare"],
    )


def _same(app: Any) -> Callable[[], Any]:
    return lambda: app


def report(overheads: DjangoOverheads, us: str) -> list[str]:
    """The table's lines for this part (``us``: how the table spells microseconds)."""

    def row(label: str, ns: float) -> str:
        return f"   {label:66}{ns / 1000:>8.2f}"

    return [
        f"7. The Django middleware, per request over Django's whole handler, in {us}, CPU time "
        f"(the handler alone: {overheads.bare / 1000:.2f})",
        row("ltiaas_auth.django.LtiaasMiddleware in MIDDLEWARE (headline)", overheads.native),
        row("LtiaasMiddleware wrapped around Django's WSGI application", overheads.wrapped),
        row("LtiaasMiddleware over the bare WSGI app (as in part 1)", overheads.wsgi),
    ]


def target(overheads: DjangoOverheads) -> tuple[str, str, bool]:
    """``(label, figure, passed)``: the Django middleware adds no more than the WSGI one + 0.5 µs."""
    limit = overheads.wrapped + TARGET_NS
    figure = f"{overheads.native / 1000:.2f} <= {limit / 1000:.2f} µs"
    return "Django middleware <= WSGI middleware + 0.5 µs", figure, overheads.native <= limit
