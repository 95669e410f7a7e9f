"""Part 1 of the table: what each middleware adds to one request, in process, over the bare app.

Every figure is ``best(time with the middleware) - best(time of the bare app)`` on the same request list,
in nanoseconds per request. The request is a browser ``fetch()`` reaching the app behind a reverse proxy
(``X-Forwarded-For`` and ``-Proto`` set), the ltik in ``Authorization: Bearer``, for ours and the peers
alike. Each peer also runs on its own lighter path (ProxyFix with no ``X-Forwarded-*`` header to apply,
asgi-correlation-id with an ``X-Request-ID`` to reuse instead of one to generate), beside ours on the same
request, so no comparison depends on picking the peer's expensive case.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import jwt
from asgi_correlation_id import CorrelationIdMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig, LtiaasMiddleware
from ltiaas_auth.asgi import ASGIApp, Scope

from .harness import (
    BROWSER_HEADERS,
    PROXY_HEADERS,
    AsgiTimer,
    FloorASGI,
    FloorWSGI,
    Minter,
    Request,
    bare_asgi,
    bare_wsgi,
    best_of,
    quiet_gc,
    time_wsgi,
    wsgi_status,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

R = TypeVar("R")
A = TypeVar("A")

#: An ``X-Request-ID`` that asgi-correlation-id accepts (32 hex digits), for its lighter path.
REQUEST_ID = "4f1c2b0de37a4c8e9d6b5a0f1e2d3c4b"
#: What a browser's navigation sends instead of the fetch() headers that matter here: the rejection is then
#: the negotiated HTML page.
NAVIGATION = (("Sec-Fetch-Mode", "navigate"), ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"))


@dataclass(frozen=True)
class Sizes:
    requests: int  # per timed run, for the warm cases
    cold_requests: int  # per timed run, each with a token never seen before
    repeats: int


@dataclass(frozen=True)
class Overheads:
    """One flavour's figures, in nanoseconds per request (all but ``bare`` are over the bare app)."""

    bare: float  # the bare app itself, on the headline request
    warm: float  # defaults (prefetch on, the launch confirmed), warm ltik in Authorization: Bearer (headline)
    gate: float  # the same request, prefetch_idtoken=False: the gate alone
    query: float  # defaults, warm ltik in ?ltik= (Referrer-Policy and Cache-Control: private added)
    cold: float  # first sight of an ltik: its claims parsed
    pyjwt: float  # PyJWT's own unverified decode of the same first-sight tokens (not over the bare app)
    no_ltik: float  # no ltik, require=False
    reject_json: float  # no ltik, require=True: the 401 as JSON (a fetch())
    reject_html: float  # the same, to a browser navigation: the negotiated HTML page
    peer: float
    floor: float
    light_ours: float  # ours on the request where the peer takes its lighter path
    light_peer: float


@dataclass(frozen=True)
class Flavour(Generic[R, A]):
    """What differs between WSGI and ASGI; the cases below are the same for both."""

    bare: A
    ours: Callable[..., A]  # (app, config, **options) -> the middleware
    peer: Callable[[A], A]
    floor: Callable[[A], A]
    build: Callable[[Request], R]  # a Request as this flavour's environ or scope
    timer: Callable[[A, Sequence[R]], int]
    status: Callable[[A, R], int]  # the status an app answers a request with
    light_extra: tuple[tuple[str, str], ...]  # headers added for the peer's lighter path
    light_proxy: bool  # whether the peer's lighter path keeps the X-Forwarded-* headers


def _ours_wsgi(app: WSGIApplication, config: LtiaasConfig, **options: Any) -> WSGIApplication:
    return LtiaasMiddleware(app, config, **options)


def _ours_asgi(app: ASGIApp, config: LtiaasConfig, **options: Any) -> ASGIApp:
    return LtiaasASGIMiddleware(app, config=config, **options)


def _proxy_fix(app: WSGIApplication) -> WSGIApplication:
    return ProxyFix(app)  # its defaults: trust one proxy for X-Forwarded-For and -Proto


def _correlation_id(app: ASGIApp) -> ASGIApp:
    return CorrelationIdMiddleware(app)  # its defaults: X-Request-ID, uuid4 ids, validated when sent


def wsgi_flavour() -> Flavour[WSGIEnvironment, WSGIApplication]:
    return Flavour(
        bare=bare_wsgi,
        ours=_ours_wsgi,
        peer=_proxy_fix,
        floor=FloorWSGI,
        build=Request.environ,
        timer=time_wsgi,
        status=wsgi_status,
        light_extra=(),
        light_proxy=False,
    )


def asgi_flavour(runner: asyncio.Runner) -> Flavour[Scope, ASGIApp]:
    timer = AsgiTimer(runner)
    return Flavour(
        bare=bare_asgi,
        ours=_ours_asgi,
        peer=_correlation_id,
        floor=FloorASGI,
        build=Request.scope,
        timer=timer,
        status=timer.status,
        light_extra=(("X-Request-ID", REQUEST_ID),),
        light_proxy=True,
    )


def _request(
    ltik: str | None, *, query: bool = False, proxy: bool = True, extra: Sequence[tuple[str, str]] = ()
) -> Request:
    headers = BROWSER_HEADERS + (PROXY_HEADERS if proxy else ()) + tuple(extra)
    if ltik is not None and not query:
        headers += (("Authorization", f"Bearer {ltik}"),)
    return Request(headers, query=f"ltik={ltik}" if query and ltik else "")


def pyjwt_decode(minter: Minter, sizes: Sizes) -> float:
    """Best CPU nanoseconds per ``jwt.decode(token, options={"verify_signature": False})`` on fresh tokens
    of the first-sight case's shape: what PyJWT itself takes to read what we read on first sight."""

    def decode_all(decode: Callable[[str], object], tokens: Sequence[str]) -> int:
        with quiet_gc():
            start = time.thread_time_ns()
            for token in tokens:
                decode(token)
            return time.thread_time_ns() - start

    def decode(token: str) -> object:
        return jwt.decode(token, options={"verify_signature": False})

    return best_of(sizes.repeats, lambda: minter(sizes.cold_requests), {"pyjwt": lambda: decode}, decode_all)[
        "pyjwt"
    ]


def measure(
    flavour: Flavour[R, A], config: LtiaasConfig, ltik: str, minter: Minter, sizes: Sizes
) -> Overheads:
    """Every case of one flavour. ``ltik`` is the warm token; ``minter`` makes the never-seen ones."""
    bare, build, timer, repeats = flavour.bare, flavour.build, flavour.timer, sizes.repeats
    ours = flavour.ours(bare, config)
    optional = flavour.ours(bare, config, require=False)
    # Each case must time the app's answer, not a rejection (a 401 would be faster and meaningless).
    gate = flavour.ours(bare, config, prefetch_idtoken=False)
    for app, request, status in (
        (ours, _request(ltik), 200),  # the one confirmation fetch of the run, as a first request makes it
        (ours, _request(ltik, query=True), 200),
        (gate, _request(ltik), 200),
        (flavour.ours(bare, config, prefetch_idtoken=False), _request(minter(1)[0]), 200),
        (optional, _request(None), 200),
        (ours, _request(None), 401),
        (ours, _request(None, extra=NAVIGATION), 401),
    ):
        if flavour.status(app, build(request)) != status:
            raise RuntimeError(
                "a middleware case does not take the path it times: the figures would mean nothing"
            )

    def same(request: Request, count: int = sizes.requests) -> Callable[[], list[R]]:
        batch = [build(request)] * count
        return lambda: batch

    def fresh_tokens() -> list[R]:
        return [build(_request(token)) for token in minter(sizes.cold_requests)]

    headline = best_of(
        repeats,
        same(_request(ltik)),
        {
            "bare": lambda: bare,
            "ours": lambda: ours,
            "gate": lambda: gate,
            "peer": lambda: flavour.peer(bare),
            "floor": lambda: flavour.floor(bare),
        },
        timer,
    )
    query = best_of(
        repeats, same(_request(ltik, query=True)), {"bare": lambda: bare, "ours": lambda: ours}, timer
    )
    # A fresh middleware per run: its parsed-ltik cache is empty, and every token in the run is new. The
    # minted tokens are not LTIAAS's (only their claims are real), so this case parses without prefetch.
    # Its config is a separate one: the caches of a config share one byte budget, and 25,000 parsed
    # tokens would otherwise evict the headline launch's entries (and make it fetch again).
    cold_config = LtiaasConfig(config.api_key, config.base_url)
    cold = best_of(
        repeats,
        fresh_tokens,
        {"bare": lambda: bare, "ours": lambda: flavour.ours(bare, cold_config, prefetch_idtoken=False)},
        timer,
    )
    no_ltik = best_of(repeats, same(_request(None)), {"bare": lambda: bare, "ours": lambda: optional}, timer)
    rejected = best_of(
        repeats,
        same(_request(None), sizes.cold_requests),
        {"bare": lambda: bare, "ours": lambda: ours},
        timer,
    )
    navigation = best_of(
        repeats,
        same(_request(None, extra=NAVIGATION), sizes.cold_requests),
        {"bare": lambda: bare, "ours": lambda: ours},
        timer,
    )
    light = best_of(
        repeats,
        same(_request(ltik, proxy=flavour.light_proxy, extra=flavour.light_extra)),
        {"bare": lambda: bare, "ours": lambda: ours, "peer": lambda: flavour.peer(bare)},
        timer,
    )
    return Overheads(
        bare=headline["bare"],
        warm=headline["ours"] - headline["bare"],
        gate=headline["gate"] - headline["bare"],
        query=query["ours"] - query["bare"],
        cold=cold["ours"] - cold["bare"],
        pyjwt=pyjwt_decode(minter, sizes),
        no_ltik=no_ltik["ours"] - no_ltik["bare"],
        reject_json=rejected["ours"] - rejected["bare"],
        reject_html=navigation["ours"] - navigation["bare"],
        peer=headline["peer"] - headline["bare"],
        floor=headline["floor"] - headline["bare"],
        light_ours=light["ours"] - light["bare"],
        light_peer=light["peer"] - light["bare"],
    )
