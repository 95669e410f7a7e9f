"""aiohttp (>= 3.12): a client middleware for ``ClientSession(middlewares=...)`` and a session factory.

aiohttp runs client middlewares for every hop of a redirect, not once per call, and drops
``Authorization`` itself when a redirect leaves the origin. So the middleware adds the credential on each
hop to the LTIAAS origin and, on a hop to another origin, tells a redirect aiohttp is following (let
through, with no credential) from a request the code made (refused with ``ForeignOriginError``).

The middleware is also where this adapter sees LTIAAS's answer: a 4xx or 5xx from the LTIAAS origin is
read and raises the classified ``UpstreamError`` (``LtikRefused``, ``RateLimited``…), and a connection to
LTIAAS that fails raises ``UpstreamError``. Once a hop is sent, its ``Authorization`` is masked in the
request's headers, which every ``request_info`` (of the response and of any ``ClientResponseError``) shows,
so no repr, str or log line of an aiohttp error carries the key.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from ..auth import authorization_for
from ..config import Origin, origin_of
from ..errors import ForeignOriginError
from ..upstream import deadline_for, ssl_context_of
from ._answer import answer_error, unreachable_error

if TYPE_CHECKING:
    from aiohttp.client_middlewares import ClientHandlerType

    from ..config import LtiaasConfig

__all__ = ["LtiaasClientMiddleware", "client_session"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})

# Where the last response seen by the middleware in this task redirects to. aiohttp awaits each hop in the
# caller's task, so the next hop it makes is the next middleware call this task sees. (After a response
# read with allow_redirects=False, the caller's own next request to that origin is let through likewise:
# still without the credential, but without ForeignOriginError.)
_redirect_target: ContextVar[Origin | None] = ContextVar("ltiaas_auth.aiohttp.redirect", default=None)


class LtiaasClientMiddleware:
    """``ClientSession(middlewares=[LtiaasClientMiddleware(config)])``: the current credential, pinned.

    With no config, the current credential's own config decides the origin. A request to another origin
    raises ``ForeignOriginError`` before anything is sent, unless it is a redirect that left LTIAAS, which
    goes out without the credential, as with requests and httpx.
    """

    __slots__ = ("config",)

    def __init__(self, config: LtiaasConfig | None = None) -> None:
        self.config = config

    def __repr__(self) -> str:
        return f"LtiaasClientMiddleware(config={self.config!r})"

    async def __call__(
        self, request: aiohttp.ClientRequest, handler: ClientHandlerType
    ) -> aiohttp.ClientResponse:
        url = str(request.url)
        followed = _redirect_target.get()
        _redirect_target.set(None)
        try:
            request.headers["Authorization"] = authorization_for(url, self.config)
        except ForeignOriginError:
            if followed is None or followed != origin_of(url):
                raise
            request.headers.popall("Authorization", None)
            return await self._follow(request, handler)
        scheme = request.headers["Authorization"].partition(" ")[0]
        started = time.monotonic()
        try:
            response = await self._follow(request, handler)
        except (aiohttp.ClientConnectionError, TimeoutError) as failure:
            error = unreachable_error(
                self.config,
                failure,
                timed_out=isinstance(failure, TimeoutError),
                method=request.method,
                path=request.url.path,
                elapsed=time.monotonic() - started,
            )
            raise error from None
        finally:
            request.headers["Authorization"] = f"{scheme} ***"  # what every request_info shows from now on
        if response.status >= 400:
            body = await response.read()
            refused = answer_error(
                self.config,
                response.status,
                body,
                scheme=scheme,
                retry_after=response.headers.get("Retry-After"),
                method=request.method,
                path=request.url.path,
                elapsed=time.monotonic() - started,
            )
            if refused is not None:
                raise refused
        return response

    @staticmethod
    async def _follow(request: aiohttp.ClientRequest, handler: ClientHandlerType) -> aiohttp.ClientResponse:
        response = await handler(request)
        location = response.headers.get("Location")
        if response.status in _REDIRECTS and location:
            _redirect_target.set(origin_of(str(response.url.join(URL(location)))))
        return response


def client_session(config: LtiaasConfig | None = None, **options: Any) -> aiohttp.ClientSession:
    """A ``ClientSession`` with the middleware. With a config, also its ``base_url`` (relative URLs
    work), its timeout (``config.timeout`` per connect and per read, and ``2 * timeout + 1`` seconds in
    all, aiohttp's own ``TimeoutError`` past that), https through ``config.ssl_context`` (else the system's
    trust store), and, for a plain-http (loopback) origin, ``trust_env=False``: its key never crosses an
    ``HTTP_PROXY`` in clear.

    Create it inside a running event loop and close it (``async with``) when done.
    """
    options.setdefault("middlewares", (LtiaasClientMiddleware(config),))
    if config is not None:
        options.setdefault("base_url", config.base_url)
        options.setdefault(
            "timeout",
            aiohttp.ClientTimeout(
                total=deadline_for(config), sock_connect=config.timeout, sock_read=config.timeout
            ),
        )
        if config.origin[0] == "http":
            options["trust_env"] = False
        elif "connector" not in options:
            options["connector"] = aiohttp.TCPConnector(ssl=ssl_context_of(config))
    return aiohttp.ClientSession(**options)
