"""What the atheris harnesses share: turning fuzzer bytes into ltik-shaped tokens and requests.

Structure-aware on purpose: raw bytes almost never make a JWS whose payload is JSON, so each input picks a
shape (raw text, a JWS built from fuzzed header and payload bytes, a real token with fuzzed edits) and fills
it from the fuzzer's bytes. Plain functions of a ``FuzzedDataProvider``, typed for ``mypy --strict``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Protocol

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NOW = int(time.time())


class Provider(Protocol):
    """The part of ``atheris.FuzzedDataProvider`` the harnesses use (atheris ships no type stubs)."""

    def ConsumeBool(self) -> bool: ...
    def ConsumeBytes(self, count: int) -> bytes: ...
    def ConsumeIntInRange(self, low: int, high: int) -> int: ...
    def ConsumeUnicodeNoSurrogates(self, count: int) -> str: ...
    def PickValueInList(self, values: list[Any]) -> Any: ...
    def remaining_bytes(self) -> int: ...


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def real_token(index: int, *, iat: int = NOW, exp: int | None = NOW + 86400) -> str:
    """An ltik as LTIAAS makes them (ltijs's claims plus ``exp``), with a made-up signature."""
    claims: dict[str, Any] = {
        "platformUrl": "https://lms.example.edu",
        "user": f"u{index}",
        "s": index,
        "iat": iat,
    }
    if exp is not None:
        claims["exp"] = exp
    header = b64url(b'{"alg":"HS256","typ":"JWT"}')
    return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(bytes(range(index, index + 32)))}"


NONE_HEADER = b64url(b'{"alg":"none"}')
SEEDS = [
    real_token(0),
    real_token(1),
    real_token(2, iat=NOW - 3 * 86400, exp=NOW - 2 * 86400),
    real_token(3, exp=None),
]


def token(fdp: Provider) -> str:
    """One candidate ltik, in one of four shapes."""
    shape = fdp.ConsumeIntInRange(0, 3)
    if shape == 0:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 400))
    if shape == 1:  # a JWS from fuzzed header and payload bytes: reaches PyJWT's JSON decoding
        header = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 120))
        payload = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 400))
        signature = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 64))
        return f"{b64url(header)}.{b64url(payload)}.{b64url(signature)}"
    if shape == 2:  # JSON-ish payloads with time claims of every type
        value = fdp.PickValueInList(
            [0, -1, 1.5, 2**63, 10**20, -(10**20), "1", True, None, [], {}, 1e308, NOW]
        )
        claims = json.dumps({"iat": value, "exp": value}) if fdp.ConsumeBool() else json.dumps({"exp": value})
        tail = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 20))
        return f"{NONE_HEADER}.{b64url((claims + tail).encode())}.{b64url(b'sig')}"
    text = fdp.PickValueInList(SEEDS)
    for _ in range(fdp.ConsumeIntInRange(1, 4)):  # a real token with a few edits
        at = fdp.ConsumeIntInRange(0, len(text))
        char = fdp.PickValueInList([*B64URL, ".", "=", "+", "/", " ", "\n", "%", "é", "\x00", ""])
        text = text[:at] + char + text[at + fdp.ConsumeIntInRange(0, 1) :]
    return str(text)


def query(fdp: Provider) -> str:
    """A query string as a server hands it over (latin-1), with ``ltik`` fields spelled several ways."""
    if fdp.ConsumeBool():
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200)).decode("latin-1")
    fields = []
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        name = fdp.PickValueInList(["ltik", "%6Ctik", "l%74ik", "LTIK", "lt+ik", "x", ""])
        equals = fdp.PickValueInList(["=", "", "=="])
        fields.append(f"{name}{equals}{token(fdp)}" if equals else name)
    return (
        str(fdp.PickValueInList(["&", "&&", ";"])).join(fields).encode("utf-8", "replace").decode("latin-1")
    )
