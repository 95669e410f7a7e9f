"""requests: an ``AuthBase`` for ``auth=`` and a ``Session`` factory.

requests calls ``auth`` once, while preparing the request, so a foreign origin is refused before anything
is sent; on a redirect to another origin ``Session.rebuild_auth`` drops ``Authorization`` and does not call
``auth`` again. The hook also registers a response hook, which is where it sees LTIAAS's answer: a 4xx or
5xx from the LTIAAS origin raises the classified ``UpstreamError`` (``LtikRefused``, ``RateLimited``…).
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import requests
import requests.adapters
import requests.auth

from ..auth import authorization_for
from ..config import origin_of
from ..upstream import ssl_context_of
from ._answer import answer_error, unreachable_error

if TYPE_CHECKING:
    from ..config import LtiaasConfig

__all__ = ["RequestsAuth", "session"]


class RequestsAuth(requests.auth.AuthBase):
    """``auth=RequestsAuth(config)``: the current credential, sent only to ``config``'s origin.

    With no config, the current credential's own config decides the origin. A 4xx/5xx answer of LTIAAS
    raises the classified ``UpstreamError`` (read from the response's body) instead of returning it.
    """

    def __init__(self, config: LtiaasConfig | None = None) -> None:
        self.config = config

    def __repr__(self) -> str:
        return f"RequestsAuth(config={self.config!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = authorization_for(request.url or "", self.config)
        request.register_hook("response", self._check_answer)  # type: ignore[no-untyped-call]
        return request

    def _check_answer(self, response: requests.Response, **_: Any) -> requests.Response:
        if response.status_code < 400:
            return response
        sent = response.request
        origin = origin_of(response.url)
        config = self.config
        if config is not None and origin != config.origin:
            return response  # a redirect hop that left LTIAAS: not LTIAAS's answer
        error = answer_error(
            config,
            response.status_code,
            response.content,
            scheme=(sent.headers.get("Authorization") or "").partition(" ")[0] or None,
            retry_after=response.headers.get("Retry-After"),
            method=sent.method or "GET",
            path=sent.path_url,
            elapsed=response.elapsed.total_seconds(),
        )
        if error is not None:
            raise error
        return response


class _LtiaasAdapter(requests.adapters.HTTPAdapter):
    """The transport for the LTIAAS origin: its TLS context, and no proxy for a plain-http origin (a
    loopback LTIAAS; its key must never cross an ``HTTP_PROXY`` in clear)."""

    def __init__(self, ssl_context: ssl.SSLContext | None, *, direct: bool) -> None:
        self._ssl_context = ssl_context
        self._direct = direct
        super().__init__()

    def init_poolmanager(self, *args: Any, **options: Any) -> None:
        if self._ssl_context is not None:
            options["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **options)

    def proxy_manager_for(self, proxy: str, **options: Any) -> Any:
        if self._ssl_context is not None:
            options["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(proxy, **options)

    def send(self, request: requests.PreparedRequest, *args: Any, **options: Any) -> requests.Response:
        if self._direct:
            options["proxies"] = {}
        return super().send(request, *args, **options)


class _Session(requests.Session):
    """A session bound to one LTIAAS: relative URLs, its timeout, and no answer leaving unclassified."""

    def __init__(self, config: LtiaasConfig) -> None:
        super().__init__()
        self._config = config
        direct = config.origin[0] == "http"
        self.mount(
            config.base_url + "/", _LtiaasAdapter(None if direct else ssl_context_of(config), direct=direct)
        )

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **options: Any) -> requests.Response:
        config = self._config
        if isinstance(url, str) and url.startswith("/"):
            url = config.base_url + url
        if len(args) < 7:  # timeout is request()'s eighth parameter
            options.setdefault("timeout", config.timeout)
        try:
            return super().request(method, url, *args, **options)
        except (requests.ConnectionError, requests.Timeout) as failure:
            sent = failure.request
            if not isinstance(sent, requests.PreparedRequest) or origin_of(sent.url or "") != config.origin:
                raise
            error = unreachable_error(
                config,
                failure,
                timed_out=isinstance(failure, requests.Timeout),
                method=sent.method or "GET",
                path=sent.path_url,
                elapsed=None,
            )
        raise error from None


def session(config: LtiaasConfig | None = None) -> requests.Session:
    """A ``requests.Session`` whose every request carries the current credential (close it when done).

    With a config it is bound to that LTIAAS: relative URLs (``http.get("/api/idtoken")``) are joined
    to ``base_url``, every request gets ``config.timeout`` unless it passes its own, https uses
    ``config.ssl_context`` (else the system's trust store), a plain-http (loopback) origin is reached
    without any proxy, and a connection that fails or times out raises ``UpstreamError``.
    """
    http = _Session(config) if config is not None else requests.Session()
    http.auth = RequestsAuth(config)
    return http
