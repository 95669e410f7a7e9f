"""httpx: an ``httpx.Auth`` for sync and async clients, and client factories.

httpx runs ``auth_flow`` once per ``send``, before the request goes out, and follows redirects below it,
dropping ``Authorization`` whenever a redirect leaves the origin (``Client._redirect_headers``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import httpx

from ..auth import authorization_for

if TYPE_CHECKING:
    from ..config import LtiaasConfig

__all__ = ["HttpxAuth", "async_client", "client"]


class HttpxAuth(httpx.Auth):
    """``auth=HttpxAuth(config)`` for ``httpx.Client`` and ``httpx.AsyncClient`` alike.

    The credential is read from the context of the code making the request (the calling task, for async
    clients). With no config, the current credential's own config decides the origin.
    """

    def __init__(self, config: LtiaasConfig | None = None) -> None:
        self.config = config

    def __repr__(self) -> str:
        return f"HttpxAuth(config={self.config!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = authorization_for(str(request.url), self.config)
        yield request


def client(config: LtiaasConfig | None = None, **options: Any) -> httpx.Client:
    """An ``httpx.Client`` with ``HttpxAuth``; with a config, also its ``base_url`` and ``timeout``."""
    return httpx.Client(**_options(config, options))


def async_client(config: LtiaasConfig | None = None, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with ``HttpxAuth``; with a config, also its ``base_url`` and ``timeout``."""
    return httpx.AsyncClient(**_options(config, options))


def _options(config: LtiaasConfig | None, options: dict[str, Any]) -> dict[str, Any]:
    options.setdefault("auth", HttpxAuth(config))
    if config is not None:
        options.setdefault("base_url", config.base_url)
        options.setdefault("timeout", config.timeout)
    return options
