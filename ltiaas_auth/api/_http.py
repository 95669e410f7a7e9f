"""The HTTP library: httpx, or where httpx is absent its maintained API-compatible fork httpx2.

Also the options of the pooled client built when the user gives none: the config's TLS context, its
timeout, no redirects followed (a redirect would carry the credential), and no environment proxy for a
loopback origin (an ``http://`` key never crosses a proxy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..config import _is_loopback
from ..upstream import ssl_context_of

if TYPE_CHECKING:
    import httpx

    from ..config import LtiaasConfig
else:
    try:
        httpx = importlib.import_module("httpx")
    except ImportError:
        try:
            httpx = importlib.import_module("httpx2")
        except ImportError:
            raise ImportError(
                "ltiaas_auth.api needs httpx (or httpx2): pip install 'ltiaas-auth[api]'"
            ) from None

__all__ = ["client_options", "httpx"]

#: Idle keep-alive connections kept per client, and how long.
KEEPALIVE = 20
KEEPALIVE_EXPIRY = 30.0


def client_options(config: LtiaasConfig) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient`` talking to ``config``'s LTIAAS."""
    return {
        "verify": ssl_context_of(config),
        "trust_env": not _is_loopback(config.origin[1]),
        "timeout": config.timeout,
        "follow_redirects": False,
        "limits": httpx.Limits(max_keepalive_connections=KEEPALIVE, keepalive_expiry=KEEPALIVE_EXPIRY),
        "headers": {"User-Agent": "ltiaas-auth"},
    }
