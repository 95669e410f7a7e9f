"""parse_ltik and Ltik: unverified claims, expiry, the size cap, and never an unexpected exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ltik_factory import make_ltik
from security_helpers import b64url as b64

from ltiaas_auth import ExpiredLtik, InvalidLtik, Ltik, parse_ltik
from ltiaas_auth.ltik import MAX_LTIK_SIZE

T0 = 1_800_000_000.0
DAY = 86400


def jws(header: object, payload: object, signature: str = "c2ln") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{signature}"


@pytest.mark.parametrize(
    ("claims", "now", "leeway", "expired", "expires_at"),
    [
        pytest.param({"iat": T0, "exp": T0 + 60}, T0 + 59, 0, False, T0 + 60, id="exp-before"),
        pytest.param({"iat": T0, "exp": T0 + 60}, T0 + 60, 0, False, T0 + 60, id="exp-at-boundary"),
        pytest.param({"iat": T0, "exp": T0 + 60}, T0 + 61, 0, True, T0 + 60, id="exp-after"),
        pytest.param({"iat": T0, "exp": T0 + 60}, T0 + 61, 5, False, T0 + 60, id="exp-within-leeway"),
        pytest.param({"iat": T0, "exp": T0 + 60}, T0 + 66, 5, True, T0 + 60, id="exp-past-leeway"),
        pytest.param({"exp": T0 + 60}, T0 + 61, 0, True, T0 + 60, id="exp-without-iat"),
        pytest.param({"iat": T0}, T0 + DAY - 1, 0, False, T0 + DAY, id="iat-plus-max-age-before"),
        pytest.param({"iat": T0}, T0 + DAY + 1, 0, True, T0 + DAY, id="iat-plus-max-age-after"),
        pytest.param({"iat": T0}, T0 + DAY + 1, 2, False, T0 + DAY, id="iat-within-leeway"),
        pytest.param({}, T0 + 100 * DAY, 0, False, None, id="neither-never-expires"),
        pytest.param(
            {"iat": T0, "exp": T0 + 60},
            datetime.fromtimestamp(T0 + 61, UTC),
            0,
            True,
            T0 + 60,
            id="aware-datetime-now",
        ),
    ],
)
def test_expiry_table(claims, now, leeway, expired, expires_at):
    token = make_ltik(**claims)
    ltik = parse_ltik(token, now=now, leeway=leeway, check_expiry=False)
    assert ltik.expired(now, leeway=leeway) is expired
    assert (ltik.expires_at.timestamp() if ltik.expires_at else None) == expires_at
    if expired:
        with pytest.raises(ExpiredLtik) as info:
            parse_ltik(token, now=now, leeway=leeway)
        assert info.value.code == "LTIK_EXPIRED"
        assert isinstance(info.value, InvalidLtik)
    else:
        assert parse_ltik(token, now=now, leeway=leeway) == ltik


def test_max_age_is_configurable():
    token = make_ltik(iat=T0)
    assert parse_ltik(token, now=T0 + 90, max_age=120).expires_at == datetime.fromtimestamp(T0 + 120, UTC)
    with pytest.raises(ExpiredLtik):
        parse_ltik(token, now=T0 + 121, max_age=120)


def test_now_defaults_to_the_clock():
    with pytest.raises(ExpiredLtik):
        parse_ltik(make_ltik(iat=1, exp=2))
    live = datetime.now(UTC) + timedelta(hours=1)
    assert parse_ltik(make_ltik(exp=live.timestamp())).seconds_left() > 3500


def test_naive_datetime_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        parse_ltik(make_ltik(exp=T0), now=datetime(2030, 1, 1))


def test_fields():
    token = make_ltik(iat=T0, exp=T0 + 60, contextId="c1")
    ltik = parse_ltik(token, now=T0)
    assert ltik.raw == token
    assert ltik.claims["contextId"] == "c1"
    assert ltik.issued_at == datetime.fromtimestamp(T0, UTC)
    assert ltik.expires_at is not None
    assert ltik.expires_at.tzinfo is UTC
    assert len(ltik.fingerprint) == 12
    assert ltik.fingerprint == parse_ltik(token, now=T0).fingerprint
    assert ltik.fingerprint != parse_ltik(make_ltik(iat=T0), now=T0).fingerprint
    with pytest.raises(TypeError):
        ltik.claims["contextId"] = "other"  # type: ignore[index]


def test_an_ltik_passes_through_parse():
    ltik = parse_ltik(make_ltik(iat=T0), now=T0)
    assert parse_ltik(ltik, now=T0) is ltik
    with pytest.raises(ExpiredLtik):
        parse_ltik(ltik, now=T0 + 2 * DAY)


def test_repr_and_str_hide_the_token():
    token = make_ltik(iat=T0, exp=T0 + 60)
    ltik = parse_ltik(token, now=T0)
    for text in (repr(ltik), str(ltik), f"{ltik}"):
        assert token not in text
        for part in token.split("."):
            assert part not in text
        assert ltik.fingerprint in text


def padded_token(size: int) -> str:
    """A valid JWS of exactly ``size`` characters (the claim padding is tuned to hit it)."""
    for pad in range(size):
        token = jwt.encode({"iat": T0, "p": "x" * pad}, "k" * 32, algorithm="HS256")
        if len(token) >= size:
            return token + "A" * (size - len(token)) if len(token) < size else token
    raise AssertionError


def test_the_size_cap_is_inclusive():
    token = padded_token(MAX_LTIK_SIZE)
    while len(token) != MAX_LTIK_SIZE:  # base64 grows in steps; trim the signature to fit exactly
        token = token[:-1]
    assert parse_ltik(token, now=T0).raw == token


def test_one_byte_over_the_cap_is_refused_without_decoding(monkeypatch):
    calls = []
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: calls.append(1))
    token = "a" * 4000 + "." + "b" * 4000 + "." + "c" * (MAX_LTIK_SIZE + 1 - 8002)
    assert len(token) == MAX_LTIK_SIZE + 1
    with pytest.raises(InvalidLtik, match="larger than"):
        parse_ltik(token)
    assert calls == []


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("abc", id="one-part"),
        pytest.param("a.b", id="two-parts"),
        pytest.param("a.b.c.d", id="four-parts"),
        pytest.param("a..c", id="empty-payload"),
        pytest.param("a.b.", id="empty-signature"),
        pytest.param(make_ltik(iat=T0) + "\n", id="trailing-newline"),
        pytest.param(" " + make_ltik(iat=T0), id="leading-space"),
        pytest.param("a+b.c/d.e=", id="not-base64url"),
        pytest.param("é.é.é", id="non-ascii"),
        pytest.param(jws({"alg": "HS256"}, [1, 2]), id="payload-array"),
        pytest.param(jws({"alg": "HS256"}, "text"), id="payload-string"),
        pytest.param(jws(["x"], {"iat": T0}), id="header-array"),
        pytest.param(f"{b64(b'nope')}.{b64(b'{}')}.c2ln", id="header-not-json"),
        pytest.param(f"{b64(b'{}')}.{b64(b'nope')}.c2ln", id="payload-not-json"),
        pytest.param(jws({"alg": "HS256", "crit": ["zz"], "zz": 1}, {"iat": T0}), id="unknown-crit"),
        pytest.param(jws({"alg": "HS256"}, {"iat": "yesterday"}), id="iat-string"),
        pytest.param(jws({"alg": "HS256"}, {"exp": True}), id="exp-bool"),
        pytest.param(jws({"alg": "HS256"}, {"exp": 1e400}), id="exp-infinite"),
        pytest.param(jws({"alg": "HS256"}, {"exp": 10**30}), id="exp-out-of-range"),
        pytest.param(jws({"alg": "HS256"}, {"exp": 10**400}), id="exp-huge-int"),
        pytest.param(
            f"{b64(b'{}')}.{b64(b'[' * 100_000 + b']' * 100_000)}.c2ln"[:MAX_LTIK_SIZE], id="deep-nesting"
        ),
    ],
)
def test_malformed_tokens_are_invalid(token):
    with pytest.raises(InvalidLtik) as info:
        parse_ltik(token, now=T0)
    assert info.value.code == "INVALID_LTIK"
    assert info.value.status == 401


def test_deeply_nested_payload_within_the_cap():
    token = f"{b64(b'{}')}.{b64(b'[' * 3000 + b']' * 3000)}.c2ln"
    assert len(token) <= MAX_LTIK_SIZE
    with pytest.raises(InvalidLtik):
        parse_ltik(token)


@pytest.mark.parametrize("token", [None, 42, b"a.b.c", ["a.b.c"]])
def test_non_strings_are_invalid(token):
    with pytest.raises(InvalidLtik):
        parse_ltik(token)


def test_signature_is_not_verified():
    """The tool cannot know LTIAAS's secret: any signature reads; LTIAAS is the authority."""
    token = make_ltik(iat=T0)
    head, body, _ = token.split(".")
    assert parse_ltik(f"{head}.{body}.AAAA", now=T0).claims["iat"] == T0
    unsigned = jws({"alg": "none"}, {"iat": T0}, signature="AAAA")
    assert parse_ltik(unsigned, now=T0).claims == {"iat": T0}


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_any_string_parses_or_raises_invalid_ltik(text):
    try:
        result = parse_ltik(text, now=T0)
    except InvalidLtik:
        return
    assert isinstance(result, Ltik)


jws_part = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.tuples(jws_part, jws_part, jws_part).map(".".join),
        st.tuples(json_values, json_values).map(
            lambda hp: f"{b64(json.dumps(hp[0]).encode())}.{b64(json.dumps(hp[1]).encode())}.c2ln"
        ),
        st.dictionaries(st.sampled_from(["iat", "exp", "nbf", "aud", "x"]), json_values).map(
            lambda payload: jws({"alg": "HS256"}, payload)
        ),
    )
)
def test_any_jws_shaped_token_parses_or_raises_invalid_ltik(token):
    try:
        result = parse_ltik(token, now=T0)
    except InvalidLtik:
        return
    assert isinstance(result, Ltik)
