"""Reading an ltik: its claims, unverified, as a hint of when it expires.

LTIAAS signs ltiks with its own secret, so a tool can never verify one; it reads the claims only to refuse
an expired token before making a network call. LTIAAS stays the authority on everything else.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from ._syntax import MAX_LTIK_SIZE
from .errors import ExpiredLtik, InvalidLtik

__all__ = ["MAX_LTIK_SIZE", "Ltik", "parse_ltik"]

Now = float | datetime | None


class Ltik:
    """A parsed ltik. ``raw`` is the token itself; ``repr``/``str`` show only its ``fingerprint``."""

    __slots__ = ("claims", "digest", "expires_at", "expiry", "fingerprint", "issued_at", "raw")

    raw: str
    claims: Mapping[str, Any]
    issued_at: datetime | None
    expires_at: datetime | None
    expiry: float
    digest: str
    fingerprint: str

    def __init__(self, raw: str, claims: Mapping[str, Any], *, max_age: float = 86400) -> None:
        iat = _timestamp(claims, "iat")
        exp = _timestamp(claims, "exp")
        expires = exp if exp is not None else (iat + max_age if iat is not None else None)
        self.raw = raw
        self.claims = MappingProxyType(dict(claims))
        self.issued_at = _to_datetime(iat)
        self.expires_at = _to_datetime(expires)
        #: ``expires_at`` as POSIX seconds, ``math.inf`` when unknown: the one number every expiry check uses.
        self.expiry = math.inf if expires is None else expires
        #: SHA-256 of the token: a cache key that is not the token.
        self.digest = hashlib.sha256(raw.encode("ascii")).hexdigest()
        #: A short, stable name for log lines.
        self.fingerprint = self.digest[:12]

    def expired(self, now: Now = None, *, leeway: float = 0) -> bool:
        """Whether the ltik is past its expiry (``exp``, else ``iat`` + max age); never when unknown."""
        return _posix(now) > self.expiry + leeway

    def seconds_left(self, now: Now = None) -> float | None:
        """Seconds until expiry (negative once past), or None when the expiry is unknown."""
        return None if self.expiry == math.inf else self.expiry - _posix(now)

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return f"Ltik(fingerprint={self.fingerprint!r}, expires_at={expires!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ltik) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


def parse_ltik(
    token: str | Ltik,
    *,
    now: Now = None,
    max_age: float = 86400,
    leeway: float = 0,
    check_expiry: bool = True,
) -> Ltik:
    """Parse ``token`` and, unless ``check_expiry`` is false, refuse it when expired.

    Raises ``InvalidLtik`` for anything that is not a compact JWS of at most ``MAX_LTIK_SIZE`` characters
    with a JSON object payload, and ``ExpiredLtik`` when ``now > expiry + leeway``.
    """
    ltik = token if isinstance(token, Ltik) else _parse(token, max_age)
    if check_expiry and ltik.expired(now, leeway=leeway):
        raise ExpiredLtik()
    return ltik


def _parse(token: object, max_age: float) -> Ltik:
    if not isinstance(token, str):
        raise InvalidLtik("An ltik must be a string.")
    # The size cap comes first, so an oversized token is never decoded.
    if len(token) > MAX_LTIK_SIZE:
        raise InvalidLtik(f"The ltik is larger than {MAX_LTIK_SIZE} characters.")
    try:  # _unverified_claims refuses anything but three parts of canonical base64url (a compact JWS)
        claims = _unverified_claims(token)
        return Ltik(token, claims, max_age=max_age)
    except InvalidLtik:
        raise
    except Exception:  # every failure, of any kind, is an invalid ltik (base64, JSON, recursion, overflow)
        raise InvalidLtik("The ltik could not be decoded.") from None


def _unverified_claims(token: str) -> Any:
    """The payload of ``token``, read as PyJWT's unverified ``jwt.decode`` reads it, for a fraction of its
    cost (PyJWT checks each character in Python): three non-empty parts of canonical base64url (a
    compact JWS), the header and the payload JSON objects, and PyJWT's rules for the header
    (:func:`_readable`). ``tests/test_ltik_decode.py`` holds the two readings to agreement."""
    header_part, payload_part, signature_part = token.split(".")  # ValueError unless three parts
    header = _json_object(_base64url(header_part))
    if header is None:
        raise InvalidLtik("The ltik's header is not a JSON object.")
    if not _readable(header):
        raise InvalidLtik("The ltik's header is not one this library reads.")
    _base64url(signature_part)
    claims = _json_object(_base64url(payload_part))
    if claims is None:
        raise InvalidLtik("The ltik's payload is not a JSON object.")
    return claims


def _readable(header: dict[str, Any]) -> bool:
    """PyJWT's rules for a header: a ``kid`` is a string; ``crit`` lists only ``b64`` (the one extension
    it knows), present in the header; ``b64`` false (an unencoded payload) needs an empty payload part,
    which a compact JWS does not have."""
    if not isinstance(header.get("kid", ""), str) or header.get("b64", True) is False:
        return False
    if "crit" not in header:
        return True
    crit = header["crit"]
    return isinstance(crit, list) and bool(crit) and all(ext == "b64" and "b64" in header for ext in crit)


def _json_object(data: bytes) -> dict[str, Any] | None:
    """``data`` as one JSON object, or None when it is another JSON value; raises on anything that is not
    exactly one JSON value. ``json.loads(data)``, with its encoding detection (skipped for the usual UTF-8
    object), its scanner, and its whitespace rule spelled with ``strip`` instead of two regexes."""
    encoding = "utf-8" if data[:1] == b"{" else json.detect_encoding(data)
    text = data.decode(encoding, "surrogatepass").strip(" \t\n\r")
    value, end = _scan(text, 0)
    if end != len(text):
        raise InvalidLtik("The ltik has data after its JSON.")
    return value if isinstance(value, dict) else None


_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _base64url(part: str) -> bytes:
    """A base64url part without padding, refused unless canonical (no stray bits in its last character),
    as PyJWT refuses it."""
    if not part or "+" in part or "/" in part or "=" in part:
        raise InvalidLtik("The ltik is not a compact JWS (three base64url parts).")
    rest = len(part) % 4
    if (rest == 2 and part[-1] not in _ENDS_TWO) or (rest == 3 and part[-1] not in _ENDS_THREE):
        raise InvalidLtik("The ltik is not canonical base64url.")
    # strict: anything outside the alphabet (a space, a newline) and a length of 4n+1 raise binascii.Error
    return binascii.a2b_base64(part.encode("ascii").translate(_TO_BASE64) + _PADDING[rest], strict_mode=True)


_TO_BASE64 = bytes.maketrans(b"-_", b"+/")
#: The last characters a canonical part may end with when it carries 1 or 2 bytes past a multiple of 3:
#: those whose unused low bits (4, or 2) are zero.
_ENDS_TWO = frozenset("AQgw")
_ENDS_THREE = frozenset("AEIMQUYcgkosw048")
_PADDING = (b"", b"===", b"==", b"=")


def _timestamp(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidLtik(f"The ltik's {name!r} claim is not a number.")
    return float(value)


def _to_datetime(timestamp: float | None) -> datetime | None:
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidLtik("The ltik's time claims are out of range.") from None


def _posix(now: Now) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime.")
        return now.timestamp()
    return float(now)
