"""Minting ltik-shaped JWTs for tests that need a token but no LTIAAS."""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

SECRET = secrets.token_bytes(32)


def make_ltik(*, iat: float | None = None, exp: float | None = None, **claims: Any) -> str:
    """An HS256 JWT with ``iat``/``exp`` when given and a random ``s`` so each token is unique."""
    payload: dict[str, Any] = {"s": secrets.token_hex(8), **claims}
    if iat is not None:
        payload["iat"] = iat
    if exp is not None:
        payload["exp"] = exp
    return jwt.encode(payload, SECRET, algorithm="HS256")


def fresh_ltik(**claims: Any) -> str:
    """A token issued now, expiring in a day."""
    now = int(time.time())
    return make_ltik(iat=now, exp=now + 86400, **claims)
