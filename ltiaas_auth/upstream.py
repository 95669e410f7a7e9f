"""Blocking calls to LTIAAS over the standard library, so the core needs no HTTP client.

Redirects are never followed (urllib would carry the ``Authorization`` header to whatever host a redirect
names), proxies are skipped for loopback origins, and every answer is size-capped and time-limited.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from .errors import UpstreamError

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = ["get_json"]

MAX_BODY = 1 << 20


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_NoRedirect())
_DIRECT_OPENER = urllib.request.build_opener(_NoRedirect(), urllib.request.ProxyHandler({}))


def get_json(config: LtiaasConfig, path: str, authorization: str) -> dict[str, Any]:
    """GET ``path`` on LTIAAS with ``authorization``; the parsed JSON object, or ``UpstreamError``."""
    request = urllib.request.Request(  # noqa: S310 - the URL is the validated https/loopback base_url
        config.base_url + path,
        headers={"Authorization": authorization, "Accept": "application/json"},
    )
    opener = _DIRECT_OPENER if config.origin[0] == "http" else _OPENER
    try:
        with opener.open(request, timeout=config.timeout) as response:
            status, raw = response.status, response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as error:
        with error:
            raw = error.read(MAX_BODY + 1)
        body = _error_body(raw)
        message = _upstream_description(body) or f"LTIAAS answered {error.code}."
        raise UpstreamError(message, upstream_status=error.code, body=body) from None
    except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timeout, reset, garbage
        raise UpstreamError(f"LTIAAS could not be reached ({type(error).__name__}).") from error
    value = _json(raw)
    if not isinstance(value, dict):
        raise UpstreamError("LTIAAS answered with a body that is not a JSON object.", upstream_status=status)
    return value


def _json(raw: bytes) -> Any:
    if len(raw) > MAX_BODY:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _error_body(raw: bytes) -> dict[str, Any] | None:
    """LTIAAS's ``{status, error, details}``; anything else (a proxy's HTML page, say) is not kept."""
    value = _json(raw)
    if isinstance(value, dict) and isinstance(value.get("status"), int):
        return value
    return None


def _upstream_description(body: dict[str, Any] | None) -> str | None:
    details = body.get("details") if body else None
    description = details.get("description") if isinstance(details, dict) else None
    return description if isinstance(description, str) and description else None
