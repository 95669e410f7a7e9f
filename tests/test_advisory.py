"""One regression test per published PyJWT advisory that touches decoding without a key.

We read every ltik with ``jwt.decode(..., options={"verify_signature": False, ...})``, so each advisory on
that path is replayed here against *our* entry points: ``parse_ltik`` and both middlewares. Each test
builds the advisory's malicious input, checks the input really reaches the condition the advisory is about
(so the test cannot pass vacuously), and asserts we refuse it cleanly (``InvalidLtik``, a 401) and fast.

Reviewed and left out, because they need a key, a JWK or ``PyJWKClient`` that this package never uses:
GHSA-75c5-xw7c-p5pm (``iss`` partial match, needs ``verify_iss``), GHSA-jq35-7prp-9v3f, GHSA-993g-76c3-p5m4,
GHSA-fhv5-28vv-h8m8, GHSA-xgmm-8j9v-c9wx (2.13.0); GHSA-ffc3-869f-jxw9, GHSA-p4g4-x82p-q773,
GHSA-w2cx-738m-mc7w, GHSA-r6x4-923q-g947, GHSA-9j54-fg26-wv3r, GHSA-jwrc-g2q2-pq5p, GHSA-2gx3-rcp4-g85q,
GHSA-9v7f-9g4p-ffgj, GHSA-w6j9-cwv2-h6wq (2.14.0); GHSA-x33g-cr3x-6449 (2.15.0).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from helpers import CONFIG, asgi_probe, asgi_scope, call_asgi, call_wsgi, wsgi_environ, wsgi_probe
from ltik_factory import SECRET, fresh_ltik
from security_helpers import b64url

from ltiaas_auth import InvalidLtik, LtiaasASGIMiddleware, LtiaasMiddleware, parse_ltik
from ltiaas_auth.ltik import MAX_LTIK_SIZE

#: Generous for a loaded 2-core CI runner: every refusal below takes well under a millisecond here.
FAST = 0.25
SIGNATURE = b"\x5a" * 32


def segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def token(header: Any, payload: Any, signature: bytes = SIGNATURE) -> str:
    """A compact JWS with any header and payload and a made-up signature: nobody here has the key."""
    head = header if isinstance(header, str) else segment(header)
    body = payload if isinstance(payload, str) else segment(payload)
    return f"{head}.{body}.{b64url(signature)}"


def claims() -> dict[str, Any]:
    now = int(time.time())
    return {"user": "u1", "iat": now, "exp": now + 3600}


def assert_refused(raw: str) -> None:
    """``parse_ltik`` raises ``InvalidLtik`` quickly, and both middlewares answer 401 ``INVALID_LTIK``."""
    started = time.perf_counter()
    with pytest.raises(InvalidLtik) as caught:
        parse_ltik(raw)
    assert time.perf_counter() - started < FAST
    assert raw not in str(caught.value)
    assert caught.value.code == "INVALID_LTIK"

    app = LtiaasMiddleware(wsgi_probe, CONFIG)
    started = time.perf_counter()
    status, _, body = call_wsgi(app, wsgi_environ(headers={"Authorization": f"Bearer {raw}"}))
    assert time.perf_counter() - started < FAST
    assert (status, json.loads(body)["details"]["message"]) == (401, "INVALID_LTIK")
    assert app._gate.parse.cache_info().currsize == 0  # a refused token is never kept

    asgi = LtiaasASGIMiddleware(asgi_probe, config=CONFIG)
    scope = asgi_scope(headers=[(b"authorization", f"Bearer {raw}".encode())])
    response = asyncio.run(call_asgi(asgi, scope))
    assert (response.status, response.json()["details"]["message"]) == (401, "INVALID_LTIK")


# --- 2.12.0 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"alg": "HS256", "crit": ["mfa"], "mfa": True}, id="unknown-extension"),
        pytest.param({"alg": "HS256", "crit": ["exp-policy"]}, id="listed-but-absent"),
        pytest.param({"alg": "HS256", "crit": []}, id="empty-list"),
        pytest.param({"alg": "HS256", "crit": "mfa", "mfa": 1}, id="not-a-list"),
        pytest.param({"alg": "HS256", "crit": [7]}, id="not-strings"),
    ],
)
def test_ghsa_752w_5fwx_jx9f(header: dict[str, Any]) -> None:
    """PyJWT <= 2.11 accepted a JWS whose ``crit`` header names extensions it does not understand (RFC 7515
    §4.1.11 says such a token MUST be refused); the check runs on the unverified path too, so an ltik
    carrying a critical extension we cannot honour is refused, not read as a plain token."""
    assert_refused(token(header, claims()))


# --- 2.13.0 -----------------------------------------------------------------------------------------


def test_ghsa_w7vc_732c_9m39() -> None:
    """PyJWT < 2.13 base64-decoded the payload segment of a ``b64: false`` token before discarding it, so an
    inflated middle segment was an unauthenticated CPU and memory amplifier. Our size cap comes before
    any decoding: an 8 MB token costs a length check. Smaller ``b64: false`` tokens are refused too:
    an ltik is never a detached JWS."""
    header = {"alg": "HS256", "b64": False, "crit": ["b64"]}
    inflated = token(header, "A" * 8_000_000)
    started = time.perf_counter()
    with pytest.raises(InvalidLtik, match=str(MAX_LTIK_SIZE)):
        parse_ltik(inflated)
    assert time.perf_counter() - started < 0.01
    assert_refused(token(header, "A" * 4000))  # under the cap: PyJWT wants an empty payload segment
    assert_refused(token({"alg": "HS256", "b64": False}, claims()))  # b64 without crit
    assert_refused(f"{segment(header)}..{b64url(SIGNATURE)}")  # the detached form itself


# --- 2.14.0 -----------------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1200, 2500])
def test_ghsa_8wjv_2p76_3863(depth: int) -> None:
    """PyJWT 2.13.0 let a ``RecursionError`` escape from a deeply nested JOSE header (a 500 instead of a
    refusal). A header nested deep enough to blow the recursion limit fits inside our 8 KiB cap."""
    with pytest.raises(RecursionError):
        json.loads(nested(depth))  # the input really reaches the advisory's condition
    raw = token(b64url(f'{{"alg":"HS256","x":{nested(depth)}}}'.encode()), claims())
    assert len(raw) <= MAX_LTIK_SIZE
    assert_refused(raw)


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def spare_bits(text: str) -> str:
    """``text`` with its last character's lowest unused bit set: other characters, same decoded bytes
    (the spare bits of a 2- or 3-character tail group come in aligned buckets of 16 or 4 characters)."""
    return text[:-1] + ALPHABET[ALPHABET.index(text[-1]) ^ 1]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda head, body, sig: f"{head}.{body}.{spare_bits(sig)}", id="signature-spare-bits"),
        pytest.param(lambda head, body, sig: f"{head}.{spare_bits(body)}.{sig}", id="payload-spare-bits"),
        pytest.param(lambda head, body, sig: f"{head}.{body}.{sig}=", id="padding"),
        pytest.param(lambda head, body, sig: f"{head}.{body}.{sig}!!!!", id="junk"),
        pytest.param(lambda head, body, sig: f"{head}.{body}.{sig[:20]}\n{sig[20:]}", id="newline"),
        pytest.param(lambda head, body, sig: f"{head}.{body}.{sig[:-1]}+", id="standard-alphabet"),
    ],
)
def test_ghsa_hxm8_2xgr_2p9m(mutate: Callable[[str, str, str], str]) -> None:
    """PyJWT < 2.14 decoded non-canonical base64url segments (junk, padding, non-zero spare bits) to the same
    bytes as the canonical token, so one token had many raw spellings and a denylist keyed on the raw
    string was bypassed. Ours are keyed on the raw string too (the claims LRU, the idtoken cache's digest,
    the fingerprint): a second spelling would be a second cache entry and a second upstream fetch. Only
    the canonical spelling is accepted."""
    for pad in ("", "x", "xx"):  # a payload whose base64url tail has spare bits (length % 4 is 2 or 3)
        canonical = fresh_ltik(pad=pad)
        head, body, sig = canonical.split(".")
        if len(body) % 4 in (2, 3):
            break
    assert len(sig) % 4 == 3  # HS256: 32 bytes, 43 characters, 2 spare bits
    twin = mutate(head, body, sig)
    assert twin != canonical
    assert base64.urlsafe_b64decode(twin.split(".")[1] + "==") == base64.urlsafe_b64decode(body + "==")
    assert parse_ltik(canonical).raw == canonical
    assert_refused(twin)


# --- 2.15.0 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1200, 2500])
def test_ghsa_42vr_xj54_vc7v(depth: int) -> None:
    """PyJWT <= 2.14 let a ``RecursionError`` from a deeply nested payload escape ``jwt.decode`` when the
    signature is not verified (exactly our call): an unauthenticated 500. It is an ``InvalidLtik``."""
    with pytest.raises(RecursionError):
        json.loads(nested(depth))
    raw = token({"alg": "HS256"}, b64url(f'{{"exp":1,"x":{nested(depth)}}}'.encode()))
    assert len(raw) <= MAX_LTIK_SIZE
    assert_refused(raw)


# --- no fixed release declared (2.15.1 copies the options) ------------------------------------------


def test_ghsa_gvp8_978c_rx2q() -> None:
    """``jwt.decode`` wrote ``verify_*`` defaults into a caller's reused ``options`` dict whenever
    ``verify_signature`` was false, so a later *verifying* decode with the same dict silently skipped the
    claim checks. ``parse_ltik`` reads the claims without PyJWT (and so shares no options with it): a
    verifying decode elsewhere in the process must still check ``exp`` after any parse."""
    for raw in (fresh_ltik(), token({"alg": "HS256"}, claims()), "x.y.z", token({"alg": "none"}, [])):
        with contextlib.suppress(InvalidLtik):
            parse_ltik(raw)
    expired = jwt.encode({"exp": int(time.time()) - 60}, SECRET, algorithm="HS256")
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, SECRET, algorithms=["HS256"])
