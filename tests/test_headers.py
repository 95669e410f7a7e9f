"""The three Authorization values: exact format, strict alphabets, no header injection."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ltik_factory import fresh_ltik

from ltiaas_auth import (
    InvalidCredential,
    bearer_authorization,
    ltik_authorization,
    parse_ltik,
    service_authorization,
)

KEY = "k3y-._~+/abc=="
LTIK = fresh_ltik()


def test_exact_values():
    assert ltik_authorization(KEY, LTIK) == f"LTIK-AUTH-V2 {KEY}:{LTIK}"
    assert ltik_authorization(KEY, parse_ltik(LTIK)) == f"LTIK-AUTH-V2 {KEY}:{LTIK}"
    assert service_authorization(KEY, "svc.key-1") == f"SERVICE-AUTH-V1 {KEY}:svc.key-1"
    assert bearer_authorization(KEY) == f"Bearer {KEY}"


BAD_TOKEN68 = [
    pytest.param("", id="empty"),
    pytest.param("a b", id="space"),
    pytest.param("a\r\nX-Evil: 1", id="crlf"),
    pytest.param("a\n", id="trailing-newline"),
    pytest.param("a\x00", id="nul"),
    pytest.param("a:b", id="colon"),
    pytest.param("=abc", id="leading-padding"),
    pytest.param("ab=c", id="padding-inside"),
    pytest.param("ключ", id="non-ascii"),
    pytest.param(None, id="none"),
    pytest.param(b"abc", id="bytes"),
]


@pytest.mark.parametrize("bad", BAD_TOKEN68)
def test_bad_api_keys_are_refused(bad):
    for build in (
        lambda: bearer_authorization(bad),
        lambda: ltik_authorization(bad, LTIK),
        lambda: service_authorization(bad, "svc"),
    ):
        with pytest.raises(InvalidCredential) as info:
            build()
        assert isinstance(info.value, ValueError)
        assert info.value.code == "INVALID_CREDENTIAL"
        if isinstance(bad, str) and bad:
            assert bad not in str(info.value)


@pytest.mark.parametrize("bad", BAD_TOKEN68)
def test_bad_service_keys_are_refused(bad):
    with pytest.raises(InvalidCredential):
        service_authorization(KEY, bad)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("", id="empty"),
        pytest.param("a.b", id="two-parts"),
        pytest.param(LTIK + "\r\nX-Evil: 1", id="crlf"),
        pytest.param(LTIK + " ", id="space"),
        pytest.param(LTIK.replace(".", ":", 1), id="colon"),
        pytest.param("a" * 9000 + ".b.c", id="oversized"),
        pytest.param(None, id="none"),
    ],
)
def test_bad_ltiks_are_refused(bad):
    with pytest.raises(InvalidCredential):
        ltik_authorization(KEY, bad)


TOKEN68_CHARS = string.ascii_letters + string.digits + "-._~+/"
JWS_CHARS = string.ascii_letters + string.digits + "-_"
token68 = st.builds(
    lambda body, pad: body + "=" * pad, st.text(TOKEN68_CHARS, min_size=1, max_size=40), st.integers(0, 2)
)
jws = st.tuples(*[st.text(JWS_CHARS, min_size=1, max_size=30)] * 3).map(".".join)
anything = st.text(max_size=40)
SHAPE = re.compile(r"(LTIK-AUTH-V2|SERVICE-AUTH-V1|Bearer) (\S+)")


def check(value: str) -> str:
    """The one space after the scheme is the only whitespace; no CR, LF or NUL anywhere."""
    assert not any(c in value for c in "\r\n\x00")
    assert sum(c.isspace() for c in value) == 1
    match = SHAPE.fullmatch(value)
    assert match
    return match.group(2)


@settings(max_examples=300, deadline=None)
@given(key=token68 | anything, ltik=jws | anything)
def test_launch_header_round_trips(key, ltik):
    try:
        value = ltik_authorization(key, ltik)
    except InvalidCredential:
        return
    assert check(value).split(":", 1) == [key, ltik]


@settings(max_examples=300, deadline=None)
@given(key=token68 | anything, service_key=token68 | anything)
def test_service_header_round_trips(key, service_key):
    try:
        value = service_authorization(key, service_key)
    except InvalidCredential:
        return
    assert check(value).split(":", 1) == [key, service_key]


@settings(max_examples=300, deadline=None)
@given(key=token68 | anything)
def test_bearer_header_round_trips(key):
    try:
        value = bearer_authorization(key)
    except InvalidCredential:
        return
    assert check(value) == key
