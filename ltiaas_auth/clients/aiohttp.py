"""aiohttp (>= 3.12): a client middleware for ``ClientSession(middlewares=...)`` and a session factory.

aiohttp runs client middlewares for every hop of a redirect, not once per call, and drops
``Authorization`` itself when a redirect leaves the origin. So the middleware adds the credential on each
hop to the LTIAAS origin and, on a hop to another origin, tells a redirect aiohttp is following (let
through, with no credential) from a request the code made (refused with ``ForeignOriginError``).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from ..auth import authorization_for
from ..config import Origin, origin_of
from ..errors import ForeignOriginError

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
        response = await handler(request)
        location = response.headers.get("Location")
        if response.status in _REDIRECTS and location:
            _redirect_target.set(origin_of(str(response.url.join(URL(location)))))
        return response


def client_session(config: LtiaasConfig | None = None, **options: Any) -> aiohttp.ClientSession:
    """A ``ClientSession`` with the middleware; with a config, also its ``base_url`` and timeout.

    Create it inside a running event loop and close it (``async with``) when done.
    """
    options.setdefault("middlewares", (LtiaasClientMiddleware(config),))
    if config is not None:
        options.setdefault("base_url", config.base_url)
        options.setdefault("timeout", aiohttp.ClientTimeout(total=config.timeout))
    return aiohttp.ClientSession(**options)
