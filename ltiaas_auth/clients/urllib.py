"""urllib: a handler that adds the current credential, and an opener factory.

``urllib.request`` copies a request's headers onto a redirect, whatever its origin, so the credential is
added as an *unredirected* header (never copied) and every request, redirects included, passes through
the handler again: a hop back to the LTIAAS origin gets the credential anew, a hop elsewhere goes out with
no ``Authorization`` at all, and a request the code makes to another origin raises ``ForeignOriginError``.

The handler is also an error processor, which is where it sees LTIAAS's answer: a 4xx or 5xx from the
LTIAAS origin raises the classified ``UpstreamError`` (``LtikRefused``, ``RateLimited``…) instead of
urllib's ``HTTPError``.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
import weakref
from http.client import HTTPMessage, HTTPResponse
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..auth import authorization_for
from ..config import origin_of
from ..errors import ForeignOriginError
from ..upstream import MAX_BODY, ssl_context_of
from ._answer import answer_error, unreachable_error

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

    handler_order = 400  # the error processor runs before urllib's own (1000), which raises HTTPError

    def http_response(self, request: urllib.request.Request, response: HTTPResponse) -> HTTPResponse:
        status = response.status
        config = self.config
        if status < 400 or not request.has_header("Authorization"):
            return response  # a success, or not a request this handler authorised
        if config is not None and origin_of(request.full_url) != config.origin:
            return response
        with response:
            body = response.read(MAX_BODY + 1)
        error = answer_error(
            config,
            status,
            body,
            scheme=(request.get_header("Authorization") or "").partition(" ")[0] or None,
            retry_after=response.headers.get("Retry-After"),
            method=request.get_method(),
            path=request.selector.partition("?")[0],
            elapsed=None,
        )
        if error is not None:
            raise error
        return response

    https_response = http_response


class _Opener(urllib.request.OpenerDirector):
    """An opener bound to one LTIAAS: relative URLs, its timeout, and failures as ``UpstreamError``."""

    def __init__(self, config: LtiaasConfig) -> None:
        super().__init__()
        self._config = config

    def open(
        self,
        fullurl: str | urllib.request.Request,
        data: Any = None,
        timeout: float | None = None,
    ) -> Any:
        config = self._config
        if isinstance(fullurl, str) and fullurl.startswith("/"):
            fullurl = config.base_url + fullurl
        url = fullurl.full_url if isinstance(fullurl, urllib.request.Request) else fullurl
        try:
            return super().open(fullurl, data, config.timeout if timeout is None else timeout)
        except urllib.error.HTTPError:
            raise
        except (OSError, urllib.error.URLError) as failure:
            if origin_of(url) != config.origin:
                raise
            reason = failure.reason if isinstance(failure, urllib.error.URLError) else failure
            error = unreachable_error(
                config,
                reason if isinstance(reason, BaseException) else failure,
                timed_out=isinstance(reason, TimeoutError | socket.timeout),
                method="POST" if data is not None else "GET",
                path=urlsplit(url).path,
                elapsed=None,
            )
        raise error from None


def build_opener(
    config: LtiaasConfig | None = None, *handlers: urllib.request.BaseHandler
) -> urllib.request.OpenerDirector:
    """``urllib.request.build_opener`` with an ``LtiaasHandler`` first; ``handlers`` are added after it.

    With a config the opener is bound to that LTIAAS: ``opener.open("/api/idtoken")`` joins a relative
    URL to ``base_url``, ``open`` without a ``timeout`` uses ``config.timeout``, https goes through
    ``config.ssl_context`` (else the system's trust store) unless ``handlers`` bring an ``HTTPSHandler``,
    a plain-http (loopback) origin is reached without any proxy, and a connection to LTIAAS that fails or
    times out raises ``UpstreamError``.
    """
    if config is None:
        return urllib.request.build_opener(LtiaasHandler(config), *handlers)
    extra: list[urllib.request.BaseHandler] = []
    if config.origin[0] == "http":
        extra.append(urllib.request.ProxyHandler({}))
    elif not any(isinstance(handler, urllib.request.HTTPSHandler) for handler in handlers):
        extra.append(urllib.request.HTTPSHandler(context=ssl_context_of(config)))
    built = urllib.request.build_opener(LtiaasHandler(config), *extra, *handlers)
    opener = _Opener(config)
    for handler in built.handlers:  # type: ignore[attr-defined]
        opener.add_handler(handler)
    return opener
