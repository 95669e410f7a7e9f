"""The Django app's pure rules, table-driven: the default exemptions, LMS origins, and the CSP source
matching behind check ``ltiaas_auth.W002``. No Django settings are touched (other tests in this session
configure Django themselves)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltiaas_auth.django import checks, conf


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {"@static": "static/", "@media": None, "@admin": False}, ("/static/*",), id="relative-static"
        ),
        pytest.param(
            {"@static": "/assets/", "@media": "/media/", "@admin": False},
            ("/assets/*", "/media/*"),
            id="both",
        ),
        pytest.param(
            {"@static": "https://cdn.example.edu/static/", "@media": "", "@admin": False}, (), id="cdn"
        ),
        pytest.param(
            {"@static": "static/", "@media": None, "@admin": True}, ("/static/*", "/admin/*"), id="admin"
        ),
        pytest.param({"@static": "/", "@media": None, "@admin": False}, (), id="site-root-is-never-exempt"),
    ],
)
def test_default_exempt(raw: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert conf.default_exempt(raw) == expected


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        pytest.param("https://Canvas.Example.edu", "https://canvas.example.edu", id="lowercased"),
        pytest.param("https://lms.example.edu:8443/", "https://lms.example.edu:8443", id="port-and-slash"),
        pytest.param("https://*.instructure.com", "https://*.instructure.com", id="wildcard"),
    ],
)
def test_lms_origins(value: str, origin: str) -> None:
    assert conf._origin(value) == origin


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("canvas.example.edu", id="no-scheme"),
        pytest.param("https://lms.example.edu/course", id="path"),
        pytest.param("https://user@lms.example.edu", id="userinfo"),
        pytest.param("https://lms.example.edu?x=1", id="query"),
        pytest.param("ftp://lms.example.edu", id="scheme"),
        pytest.param("https://lms.example.edu:99999", id="port"),
    ],
)
def test_lms_origins_refused(value: str) -> None:
    with pytest.raises(conf.SettingsError) as refused:
        conf._origin(value)
    assert refused.value.check_id == "ltiaas_auth.E004"


@pytest.mark.parametrize(
    ("sources", "origin", "allowed"),
    [
        pytest.param(["'self'"], "https://canvas.example.edu", False, id="self-only"),
        pytest.param(["'none'"], "https://canvas.example.edu", False, id="none"),
        pytest.param(["*"], "https://canvas.example.edu", True, id="star"),
        pytest.param(["https:"], "https://canvas.example.edu", True, id="scheme-source"),
        pytest.param(["http:"], "https://canvas.example.edu", True, id="http-scheme-admits-https"),
        pytest.param(["https://canvas.example.edu"], "https://canvas.example.edu", True, id="exact"),
        pytest.param(["canvas.example.edu"], "https://canvas.example.edu", True, id="host-only"),
        pytest.param(["https://*.example.edu"], "https://canvas.example.edu", True, id="wildcard"),
        pytest.param(["https://*.example.edu"], "https://example.edu", False, id="wildcard-needs-a-label"),
        pytest.param(
            ["https://*.example.edu"], "https://canvas.example.com", False, id="wildcard-other-site"
        ),
        pytest.param(
            ["https://canvas.example.edu:8443"], "https://canvas.example.edu", False, id="other-port"
        ),
        pytest.param(
            ["https://canvas.example.edu:*"], "https://canvas.example.edu:8443", True, id="any-port"
        ),
        pytest.param(
            ["https://canvas.example.edu:443"], "https://canvas.example.edu", True, id="default-port"
        ),
        pytest.param(
            ["http://canvas.example.edu"], "https://canvas.example.edu", True, id="http-admits-https"
        ),
        pytest.param(["https://canvas.example.edu"], "http://canvas.example.edu", False, id="https-not-http"),
        pytest.param(["'self'"], None, False, id="no-other-site"),
        pytest.param(["'self'", "https://lms.example.edu"], None, True, id="some-other-site"),
    ],
)
def test_frame_ancestors_matching(sources: list[str], origin: str | None, allowed: bool) -> None:
    assert checks._allows(sources, origin) is allowed


@given(st.lists(st.text(max_size=40), max_size=6), st.sampled_from(["https://a.example.edu", None]))
def test_frame_ancestors_never_raises(sources: list[str], origin: str | None) -> None:
    assert checks._allows(sources, origin) in (True, False)
