"""urllib: a handler that adds the current credential, and an opener factory.

``urllib.request`` copies a request's headers onto a redirect, whatever its origin, so the credential is
added as an *unredirected* header (never copied) and every request, redirects included, passes through
the handler again: a hop back to the LTIAAS origin gets the credential anew, a hop elsewhere goes out with
no ``Authorization`` at all, and a request the code makes to another origin raises ``ForeignOriginError``.
"""

from __future__ import annotations

import urllib.request
import weakref
from http.client import HTTPMessage
from typing import IO, TYPE_CHECKING

from ..auth import authorization_for
from ..errors import ForeignOriginError

if TYPE_CHECKING:
    from ..config import LtiaasConfig

__all__ = ["LtiaasHandler", "build_opener"]


class LtiaasHandler(urllib.request.HTTPRedirectHandler):
    """``urllib.request.build_opener(LtiaasHandler(config))``: the current credential, pinned.

    It is also the opener's redirect handler (it replaces the default one), so it knows which requests
    are redirect hops. With no config, the current credential's own config decides the origin.
    """

    def __init__(self, config: LtiaasConfig | None = None) -> None:
        self.config = config
        self._hops: weakref.WeakSet[urllib.request.Request] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"LtiaasHandler(config={self.config!r})"

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            self._hops.add(new)
        return new

    def http_request(self, request: urllib.request.Request) -> urllib.request.Request:
        try:
            authorization = authorization_for(request.full_url, self.config)
        except ForeignOriginError:
            if request not in self._hops:
                raise
            request.remove_header("Authorization")  # one the caller set is copied onto redirects
            return request
        request.add_unredirected_header("Authorization", authorization)
        return request

    https_request = http_request


def build_opener(
    config: LtiaasConfig | None = None, *handlers: urllib.request.BaseHandler
) -> urllib.request.OpenerDirector:
    """``urllib.request.build_opener`` with an ``LtiaasHandler`` first; ``handlers`` are added after it."""
    return urllib.request.build_opener(LtiaasHandler(config), *handlers)
