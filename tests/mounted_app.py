"""An ASGI app behind the middleware with ``exempt=("/health",)``, for real servers started with a root
path (``LTIAAS_URL`` / ``LTIAAS_API_KEY`` from the environment). It answers ``scope["path"]`` and
``root_path`` as the server gave them."""

from __future__ import annotations

import json
from typing import Any

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = json.dumps({"path": scope["path"], "root_path": scope.get("root_path", "")}).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


app = LtiaasASGIMiddleware(echo, config=LtiaasConfig.from_env(), exempt=("/health",), prefetch_idtoken=False)
