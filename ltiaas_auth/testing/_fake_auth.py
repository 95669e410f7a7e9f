"""The `Authorization` check, as strict as LTIAAS's, so a client that builds a header wrongly fails in tests.

Scheme names are matched case-sensitively with single spaces, exactly as LTIAAS documents them:

- launch: ``LTIK-AUTH-V2 <API_KEY>:<LTIK>``
  (or the legacy ``LTIK-AUTH-V1 Token=<LTIK>, Additional=Bearer <API_KEY>``)
- service: ``SERVICE-AUTH-V1 <API_KEY>:<SERVICE_KEY>``
- api key: ``Bearer <API_KEY>``

API-key-only routes answer "Invalid API key" to anything but a good ``Bearer`` value: what they lack is
the key.
The legacy form is accepted unless the fake was made with ``legacy_v1=False``.
"""

from __future__ import annotations

import enum
import hmac
import re
from dataclasses import dataclass

from ltiaas_auth.testing._fake_http import INVALID_API_KEY, INVALID_AUTH, INVALID_LTIK, ApiError
from ltiaas_auth.testing._fake_state import FakeState, Launch


class Scheme(enum.Enum):
    LAUNCH = "launch"
    SERVICE = "service"
    API_KEY = "api key"


LAUNCH_ONLY = frozenset({Scheme.LAUNCH})
LAUNCH_OR_SERVICE = frozenset({Scheme.LAUNCH, Scheme.SERVICE})
API_KEY_ONLY = frozenset({Scheme.API_KEY})

#: The scheme names a recorded call can carry (``FakeCall.scheme``); anything else is recorded as None.
SCHEME_NAMES = ("LTIK-AUTH-V2", "SERVICE-AUTH-V1", "Bearer", "LTIK-AUTH-V1")
_LEGACY = "LTIK-AUTH-V1"
_TOKEN68 = r"[A-Za-z0-9\-._~+/]+=*"
_FORMS: tuple[tuple[Scheme, re.Pattern[str]], ...] = (
    (Scheme.LAUNCH, re.compile(rf"LTIK-AUTH-V2 (?P<key>{_TOKEN68}):(?P<token>[A-Za-z0-9\-_.]+)")),
    (
        Scheme.LAUNCH,
        re.compile(
            rf"LTIK-AUTH-V1 Token=(?P<token>[A-Za-z0-9\-_.]+), ?Additional=Bearer (?P<key>{_TOKEN68})"
        ),
    ),
    (Scheme.SERVICE, re.compile(rf"SERVICE-AUTH-V1 (?P<key>{_TOKEN68}):(?P<token>{_TOKEN68})")),
    (Scheme.API_KEY, re.compile(rf"Bearer (?P<key>{_TOKEN68})")),
)


@dataclass(frozen=True)
class Credential:
    """An accepted header: its scheme and, for launch and service credentials, the launch it stands for."""

    scheme: Scheme
    launch: Launch | None


def scheme_name(header: str | None) -> str | None:
    """The scheme a header names (its first word, case-sensitive), when it is one LTIAAS knows."""
    if header is None:
        return None
    name = header.split(" ", 1)[0]
    return name if name in SCHEME_NAMES else None


def authenticate(
    header: str | None,
    accepted: frozenset[Scheme],
    api_key: str,
    state: FakeState,
    *,
    legacy_v1: bool = True,
) -> Credential:
    """The credential `header` carries, or ApiError 401 in LTIAAS's shape."""
    parsed = _parse(header)
    if not legacy_v1 and scheme_name(header) == _LEGACY:
        parsed = None
    if parsed is None or parsed[0] not in accepted:
        refusal = INVALID_API_KEY if accepted == API_KEY_ONLY else INVALID_LTIK
        raise ApiError(401, INVALID_AUTH, refusal)
    scheme, key, token = parsed
    if not hmac.compare_digest(key.encode(), api_key.encode()):
        raise ApiError(401, INVALID_AUTH, INVALID_API_KEY)
    if scheme is Scheme.API_KEY:
        return Credential(scheme, None)
    launch = state.verified_launch(token) if scheme is Scheme.LAUNCH else state.service_keys.get(token)
    if launch is None:
        raise ApiError(401, INVALID_AUTH, INVALID_LTIK)
    return Credential(scheme, launch)


def _parse(header: str | None) -> tuple[Scheme, str, str] | None:
    if header is None:
        return None
    for scheme, pattern in _FORMS:
        match = pattern.fullmatch(header)
        if match is not None:
            return scheme, match["key"], match.groupdict().get("token") or ""
    return None
