"""Part 7 of the table: what ``ltiaas_auth.django.LtiaasMiddleware`` adds to a Django request, beside what
the plain WSGI middleware adds to a bare WSGI app.

Django's own handler (``WSGIHandler``, a function view answering ``{}``) is timed with ``MIDDLEWARE``
empty and with our middleware in it; the WSGI figure is ``LtiaasMiddleware`` over the bare app, as in part
1. Both use the same request (the headline one: a browser ``fetch()`` behind a proxy, the warm ltik in
``Authorization: Bearer``) and the same options that matter (``prefetch_idtoken=True``: Django's default,
the confirmed launch remembered), through the same driver, so the figures compare the two adapters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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
    wsgi_status,
)

if TYPE_CHECKING:
    from ltiaas_auth import LtiaasConfig

    from .middleware import Sizes

__all__ = ["TARGET_NS", "DjangoOverheads", "measure", "report", "target"]

#: The issue's bar: the Django middleware adds at most the WSGI middleware's overhead plus 0.5 µs.
TARGET_NS = 500.0
OURS = "ltiaas_auth.django.LtiaasMiddleware"


@dataclass(frozen=True)
class DjangoOverheads:
    """Nanoseconds per request."""

    bare: float  # Django's whole handler with MIDDLEWARE empty
    django: float  # what our Django middleware adds to the chain Django calls (the headline)
    wsgi: float  # what LtiaasMiddleware adds to the bare WSGI app
    handler: float  # what it adds to Django's whole handler (noisier: the handler costs ~100x more)


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


def _chains() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The view as Django's handler calls it with ``MIDDLEWARE`` empty, and with our middleware: Django
    wraps the view, and each middleware, in ``convert_exception_to_response``
    (``BaseHandler.load_middleware``). The view answers one prepared response, so only the middleware
    differs between the two."""
    from django.core.handlers.exception import convert_exception_to_response
    from django.http import HttpResponse

    from ltiaas_auth.django import LtiaasMiddleware as DjangoMiddleware

    response = HttpResponse(b"{}", content_type="application/json")
    bare = convert_exception_to_response(lambda request: response)
    return bare, convert_exception_to_response(DjangoMiddleware(bare))


def _time_chain(chain: Callable[[Any], Any], requests: Sequence[Any]) -> int:
    """CPU nanoseconds to serve each request once through ``chain`` and run the response's closers
    (what ``response.close()`` does before it sends ``request_finished``, a signal that costs both alike
    and more than the whole middleware: left out)."""
    with quiet_gc():
        start = time.thread_time_ns()
        for request in requests:
            response = chain(request)
            for closer in response._resource_closers:
                closer()
            response._resource_closers.clear()
        return time.thread_time_ns() - start


def _time_wsgi(app: Any, environs: Sequence[Any]) -> int:
    """``harness.time_wsgi`` in CPU time, like ``_time_chain``: the verdict is a 0.5 µs margin, which a
    shared machine's scheduling (counted by a wall clock) would decide on its own."""
    start_response: Any = _start_response
    with quiet_gc():
        start = time.thread_time_ns()
        for template in environs:
            body = app(template.copy(), start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return time.thread_time_ns() - start


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Any:
    return _write


def _write(data: bytes) -> None:
    """The server's ``write``: dropped."""


def measure(config: LtiaasConfig, ltik: str, sizes: Sizes) -> DjangoOverheads:
    from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
    from django.test.utils import override_settings

    _setup(config)
    bare_chain, ours_chain = _chains()
    handler = WSGIHandler()
    with override_settings(MIDDLEWARE=[OURS]):
        handler_ours = WSGIHandler()  # the middleware list is read when the handler is built
    wsgi_ours = LtiaasMiddleware(bare_wsgi, config, prefetch_idtoken=True)
    environ = Request(BROWSER_HEADERS + PROXY_HEADERS + (("Authorization", f"Bearer {ltik}"),)).environ()
    for app in (handler, handler_ours, wsgi_ours):
        if wsgi_status(app, environ) != 200:
            raise RuntimeError("a Django case does not reach the view: the figures would mean nothing")
    if ours_chain(WSGIRequest(environ.copy())).status_code != 200:
        raise RuntimeError("the Django middleware refuses the benchmark's request")
    environs = [environ] * sizes.requests
    # One request object for every call: the middleware only sets attributes on it, the same each time.
    prepared = [WSGIRequest(environ.copy())] * sizes.requests

    def timed(apps: dict[str, Any], batch: list[Any], timer: Callable[[Any, Sequence[Any]], int]) -> float:
        best = best_of(sizes.repeats, lambda: batch, {name: _same(app) for name, app in apps.items()}, timer)
        return best["ours"] - best["bare"]

    # Django's whole handler costs about a hundred times the middleware: a tenth of the requests will do.
    few = environs[: max(1, len(environs) // 10)]
    handlers = best_of(sizes.repeats, lambda: few, {"bare": lambda: handler}, _time_wsgi)
    return DjangoOverheads(
        bare=handlers["bare"],
        django=timed({"bare": bare_chain, "ours": ours_chain}, prepared, _time_chain),
        wsgi=timed({"bare": bare_wsgi, "ours": wsgi_ours}, environs, _time_wsgi),
        handler=timed({"bare": handler, "ours": handler_ours}, few, _time_wsgi),
    )


def _same(app: Any) -> Callable[[], Any]:
    return lambda: app


def report(overheads: DjangoOverheads, us: str) -> list[str]:
    """The table's lines for this part (``us``: how the table spells microseconds)."""

    def row(label: str, ns: float) -> str:
        return f"   {label:66}{ns / 1000:>8.2f}"

    return [
        f"The Django middleware, per request, in {us}, CPU time "
        f"(Django's whole handler alone: {overheads.bare / 1000:.2f})",
        row("ltiaas_auth.django.LtiaasMiddleware in MIDDLEWARE (headline)", overheads.django),
        row("LtiaasMiddleware over the bare WSGI app (as in part 1)", overheads.wsgi),
        row("the same Django middleware, over Django's whole handler (noisier)", overheads.handler),
    ]


def target(overheads: DjangoOverheads) -> tuple[str, str, bool]:
    """``(label, figure, passed)``: the Django middleware adds no more than the WSGI one + 0.5 µs."""
    limit = overheads.wsgi + TARGET_NS
    figure = f"{overheads.django / 1000:.2f} <= {limit / 1000:.2f} µs"
    return "Django middleware <= WSGI middleware + 0.5 µs", figure, overheads.django <= limit
