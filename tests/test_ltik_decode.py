"""``parse_ltik`` reads a token's claims itself, for a fraction of PyJWT's cost: it must accept exactly the
tokens PyJWT's unverified ``jwt.decode`` accepts (within the compact-JWS rules: no padding, nothing but
base64url), and read the same claims from them.

Hypothesis builds tokens from JSON headers and payloads and raw signatures, encoded canonically or not,
then mutates them (a character changed, dropped or added, a part emptied, UTF-16 JSON).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltiaas_auth import InvalidLtik, parse_ltik
from ltiaas_auth._syntax import is_compact_jws
from ltiaas_auth.ltik import _unverified_claims

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
headers = st.one_of(
    st.fixed_dictionaries(
        {"alg": st.sampled_from(["HS256", "RS256", "none"])}, optional={"typ": st.just("JWT")}
    ),
    st.dictionaries(st.sampled_from(["alg", "kid", "crit", "b64", "typ", "x"]), json_values, max_size=3),
    json_values,
)
payloads = st.one_of(
    st.fixed_dictionaries({"iat": st.integers(0, 2**31), "exp": st.integers(0, 2**31)}), json_values
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@st.composite
def tokens(draw: st.DrawFn) -> str:
    encoding = draw(st.sampled_from(["utf-8", "utf-16"]))
    parts = [
        b64(json.dumps(draw(headers)).encode(encoding)),
        b64(json.dumps(draw(payloads)).encode(encoding)),
        b64(draw(st.binary(min_size=0, max_size=40))),
    ]
    token = ".".join(parts)
    mutation = draw(st.sampled_from(["none", "change", "drop", "add"]))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "
    if mutation != "none" and token:
        index = draw(st.integers(0, len(token) - 1))
        char = draw(st.sampled_from(alphabet))
        if mutation == "change":
            token = token[:index] + char + token[index + 1 :]
        elif mutation == "drop":
            token = token[:index] + token[index + 1 :]
        else:
            token = token[:index] + char + token[index:]
    return token


def pyjwt_claims(token: str) -> Any:
    """PyJWT's reading, with what the compact-JWS rule adds (no padding, only base64url, no empty part)."""
    if not is_compact_jws(token):
        return None
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except Exception:
        return None


def our_claims(token: str) -> Any:
    """What ``parse_ltik`` decodes (before its own rules for the time claims, which PyJWT leaves alone
    when not verifying): any exception there is an ``InvalidLtik`` for ``parse_ltik``."""
    try:
        return _unverified_claims(token)
    except Exception:
        return None


@settings(max_examples=1500, deadline=None)
@given(token=tokens())
def test_the_claims_are_read_as_pyjwt_reads_them(token: str) -> None:
    assert our_claims(token) == pyjwt_claims(token)
    if our_claims(token) is None:  # parse_ltik refuses it, in its own words
        with pytest.raises(InvalidLtik):
            parse_ltik(token, check_expiry=False)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{b64(b'{}')}.{b64(b'{}')}.{b64(b'sig')}", id="plain"),
        pytest.param(f"{b64(b'{}')}.{b64(b'{}')}.c2lnA", id="signature-4n+1"),
        pytest.param(f"{b64(b'{}')}.{b64(b'{}')}.c2lnB", id="signature-stray-bits"),
        pytest.param(f"{b64(b'{}')}.{b64(b'{} ')}.c2ln", id="payload-trailing-space"),
        pytest.param(f"{b64(b' {}')}.{b64(b'{}')}.c2ln", id="header-leading-space"),
        pytest.param(f"{b64(json.dumps({'kid': 1}).encode())}.{b64(b'{}')}.c2ln", id="kid-not-a-string"),
        pytest.param(f"{b64(json.dumps({'b64': False}).encode())}.{b64(b'{}')}.c2ln", id="unencoded-payload"),
    ],
)
def test_edge_tokens_as_pyjwt(token: str) -> None:
    assert our_claims(token) == pyjwt_claims(token)
