"""httpx: an ``httpx.Auth`` for sync and async clients, and client factories.

httpx runs the auth flow once per ``send``, before the request goes out, and follows redirects below it,
dropping ``Authorization`` whenever a redirect leaves the origin (``Client._redirect_headers``). The flow
gets the answer back, which is where it sees LTIAAS's: a 4xx or 5xx from the LTIAAS origin raises the
classified ``UpstreamError`` (``LtikRefused``, ``RateLimited``…) instead of returning it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

import httpx

from ..auth import authorization_for
from ..config import origin_of
from ..errors import UpstreamError
from ..upstream import ssl_context_of
from ._answer import answer_error, unreachable_error

if TYPE_CHECKING:
    from ..config import LtiaasConfig

__all__ = ["HttpxAuth", "async_client", "client"]


class HttpxAuth(httpx.Auth):
    """``auth=HttpxAuth(config)`` for ``httpx.Client`` and ``httpx.AsyncClient`` alike.

    The credential is read from the context of the code making the request (the calling task, for async
    clients). With no config, the current credential's own config decides the origin. A 4xx/5xx answer
    of LTIAAS raises the classified ``UpstreamError`` (its body is read first).
    """

    def __init__(self, config: LtiaasConfig | None = None) -> None:
        self.config = config

    def __repr__(self) -> str:
        return f"HttpxAuth(config={self.config!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = authorization_for(str(request.url), self.config)
        started = time.monotonic()
        response = yield request
        if response.status_code >= 400:
            response.read()
            self._raise_for(response, time.monotonic() - started)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = authorization_for(str(request.url), self.config)
        started = time.monotonic()
        response = yield request
        if response.status_code >= 400:
            await response.aread()
            self._raise_for(response, time.monotonic() - started)

    def _raise_for(self, response: httpx.Response, elapsed: float) -> None:
        sent = response.request
        error = answer_error(
            self.config,
            response.status_code,
            response.content,
            scheme=(sent.headers.get("Authorization") or "").partition(" ")[0] or None,
            retry_after=response.headers.get("Retry-After"),
            method=sent.method,
            path=sent.url.path,
            elapsed=elapsed,
        )
        if error is not None:
            raise error


def client(config: LtiaasConfig | None = None, **options: Any) -> httpx.Client:
    """An ``httpx.Client`` with ``HttpxAuth``; with a config, also bound to that LTIAAS (see
    :func:`async_client`)."""
    if config is None:
        return httpx.Client(**_options(config, options))
    return _Client(config, **_options(config, options))


def async_client(config: LtiaasConfig | None = None, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with ``HttpxAuth``. With a config, also its ``base_url`` (relative URLs
    work) and ``timeout``, https through ``config.ssl_context`` (else the system's trust store), a
    plain-http (loopback) origin reached without any proxy, and a connection to LTIAAS that fails or times
    out raising ``UpstreamError``."""
    if config is None:
        return httpx.AsyncClient(**_options(config, options))
    return _AsyncClient(config, **_options(config, options))


def _options(config: LtiaasConfig | None, options: dict[str, Any]) -> dict[str, Any]:
    options.setdefault("auth", HttpxAuth(config))
    if config is not None:
        options.setdefault("base_url", config.base_url)
        options.setdefault("timeout", config.timeout)
        if config.origin[0] == "https":
            options.setdefault("verify", ssl_context_of(config))
    return options


def _direct_mounts(
    config: LtiaasConfig,
    transport: type[httpx.BaseTransport] | type[httpx.AsyncBaseTransport],
    options: dict[str, Any],
) -> dict[str, Any]:
    """A plain-http origin gets a transport of its own, with no proxy (the environment's would see the key
    in clear)."""
    if config.origin[0] != "http":
        return options
    mounts = dict(options.get("mounts") or {})
    mounts.setdefault(config.base_url, transport())
    return {**options, "mounts": mounts}


def _unreachable(
    config: LtiaasConfig, request: httpx.Request, failure: httpx.TransportError
) -> UpstreamError:
    return unreachable_error(
        config,
        failure,
        timed_out=isinstance(failure, httpx.TimeoutException),
        method=request.method,
        path=request.url.path,
        elapsed=None,
    )


class _Client(httpx.Client):
    def __init__(self, config: LtiaasConfig, **options: Any) -> None:
        super().__init__(**_direct_mounts(config, httpx.HTTPTransport, options))
        self._ltiaas = config

    def send(self, request: httpx.Request, **options: Any) -> httpx.Response:
        try:
            return super().send(request, **options)
        except httpx.TransportError as failure:
            if origin_of(str(failure.request.url)) != self._ltiaas.origin:
                raise
            error = _unreachable(self._ltiaas, failure.request, failure)
        raise error from None


class _AsyncClient(httpx.AsyncClient):
    def __init__(self, config: LtiaasConfig, **options: Any) -> None:
        super().__init__(**_direct_mounts(config, httpx.AsyncHTTPTransport, options))
        self._ltiaas = config

    async def send(self, request: httpx.Request, **options: Any) -> httpx.Response:
        try:
            return await super().send(request, **options)
        except httpx.TransportError as failure:
            if origin_of(str(failure.request.url)) != self._ltiaas.origin:
                raise
            error = _unreachable(self._ltiaas, failure.request, failure)
        raise error from None
