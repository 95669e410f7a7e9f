"""The token alphabets, in one place: what may stand in an ``Authorization`` value."""

from __future__ import annotations

import re

#: The largest ltik accepted anywhere, in characters (the ltik alphabet is ASCII).
MAX_LTIK_SIZE = 8192

# RFC 7235 token68: the API key and service keys.
TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# A compact JWS: three non-empty base64url parts. Checked with fullmatch, so no newline slips through.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def is_token68(value: object) -> bool:
    return isinstance(value, str) and TOKEN68.fullmatch(value) is not None


def is_compact_jws(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_LTIK_SIZE and COMPACT_JWS.fullmatch(value) is not None
