"""The three ``Authorization`` values LTIAAS accepts, built strictly so no header injection is possible."""

from __future__ import annotations

from ._syntax import MAX_LTIK_SIZE, is_compact_jws, is_token68
from .errors import InvalidCredential
from .ltik import Ltik

__all__ = [
    "API_KEY_SCHEME",
    "LAUNCH_SCHEME",
    "SERVICE_SCHEME",
    "bearer_authorization",
    "ltik_authorization",
    "service_authorization",
]

LAUNCH_SCHEME = "LTIK-AUTH-V2"
SERVICE_SCHEME = "SERVICE-AUTH-V1"
API_KEY_SCHEME = "Bearer"


def ltik_authorization(api_key: str, ltik: str | Ltik) -> str:
    """``LTIK-AUTH-V2 <api_key>:<ltik>``: calls made inside a launch."""
    raw = ltik.raw if isinstance(ltik, Ltik) else ltik
    if not is_compact_jws(raw):
        raise InvalidCredential(f"The ltik must be a compact JWS of at most {MAX_LTIK_SIZE} characters.")
    return f"{LAUNCH_SCHEME} {_api_key(api_key)}:{raw}"


def service_authorization(api_key: str, service_key: str) -> str:
    """``SERVICE-AUTH-V1 <api_key>:<service_key>``: calls made outside a launch (jobs, workers)."""
    if not is_token68(service_key):
        raise InvalidCredential("The service key must be a non-empty RFC 7235 token68 string.")
    return f"{SERVICE_SCHEME} {_api_key(api_key)}:{service_key}"


def bearer_authorization(api_key: str) -> str:
    """``Bearer <api_key>``: endpoints tied to no launch (registrations, platforms)."""
    return f"{API_KEY_SCHEME} {_api_key(api_key)}"


def _api_key(api_key: str) -> str:
    if not is_token68(api_key):
        raise InvalidCredential("The API key must be a non-empty RFC 7235 token68 string.")
    return api_key
