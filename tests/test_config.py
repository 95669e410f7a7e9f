"""LtiaasConfig: base URL rules, from_env, value equality, and a repr that never shows the key."""

from __future__ import annotations

import pytest

from ltiaas_auth import InvalidCredential, LtiaasConfig

KEY = "s3cr3t-api-key"


@pytest.mark.parametrize(
    ("url", "base_url", "origin"),
    [
        pytest.param("https://tool.ltiaas.com", "https://tool.ltiaas.com", ("https", "tool.ltiaas.com", 443)),
        pytest.param(
            "https://tool.ltiaas.com/", "https://tool.ltiaas.com", ("https", "tool.ltiaas.com", 443)
        ),
        pytest.param("HTTPS://Tool.LTIAAS.com", "https://tool.ltiaas.com", ("https", "tool.ltiaas.com", 443)),
        pytest.param("https://x.example:8443", "https://x.example:8443", ("https", "x.example", 8443)),
        pytest.param("http://localhost:3000", "http://localhost:3000", ("http", "localhost", 3000)),
        pytest.param("http://127.0.0.1", "http://127.0.0.1", ("http", "127.0.0.1", 80)),
        pytest.param("http://127.8.9.10:1/", "http://127.8.9.10:1", ("http", "127.8.9.10", 1)),
        pytest.param("http://[::1]:8080", "http://[::1]:8080", ("http", "::1", 8080)),
    ],
)
def test_accepted_base_urls(url, base_url, origin):
    config = LtiaasConfig(KEY, url)
    assert config.base_url == base_url
    assert config.origin == origin


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://tool.ltiaas.com", id="plain-http-remote"),
        pytest.param("http://10.0.0.1", id="plain-http-private"),
        pytest.param("http://localhost.evil.com", id="plain-http-lookalike"),
        pytest.param("ftp://tool.ltiaas.com", id="other-scheme"),
        pytest.param("tool.ltiaas.com", id="no-scheme"),
        pytest.param("https://", id="no-host"),
        pytest.param("https://user:pw@tool.ltiaas.com", id="userinfo"),
        pytest.param("https://user@tool.ltiaas.com", id="username"),
        pytest.param("https://tool.ltiaas.com/api", id="path"),
        pytest.param("https://tool.ltiaas.com//", id="double-slash-path"),
        pytest.param("https://tool.ltiaas.com?x=1", id="query"),
        pytest.param("https://tool.ltiaas.com?", id="empty-query"),
        pytest.param("https://tool.ltiaas.com#frag", id="fragment"),
        pytest.param("https://tool.ltiaas.com:99999", id="bad-port"),
        pytest.param("", id="empty"),
    ],
)
def test_refused_base_urls(url):
    with pytest.raises(ValueError, match="base_url"):
        LtiaasConfig(KEY, url)


@pytest.mark.parametrize("key", ["", "has space", "line\nbreak", "colon:key"])
def test_refused_api_keys_do_not_echo_the_key(key):
    with pytest.raises(InvalidCredential) as info:
        LtiaasConfig(key, "https://tool.ltiaas.com")
    if key:
        assert key not in str(info.value)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": -1},
        {"timeout": float("nan")},
        {"ltik_max_age": 0},
        {"leeway": -1},
        {"idtoken_ttl": -5},
        {"cache_size": 0},
    ],
)
def test_refused_options(options):
    with pytest.raises(ValueError):
        LtiaasConfig(KEY, "https://tool.ltiaas.com", **options)


def test_frozen_and_equal_by_value():
    a = LtiaasConfig(KEY, "https://tool.ltiaas.com/", timeout=5)
    b = LtiaasConfig(KEY, "https://tool.ltiaas.com", timeout=5)
    assert a == b
    assert hash(a) == hash(b)
    assert a != LtiaasConfig(KEY, "https://tool.ltiaas.com", timeout=6)
    assert a != LtiaasConfig("other-key", "https://tool.ltiaas.com", timeout=5)
    with pytest.raises(AttributeError):
        a.api_key = "x"  # type: ignore[misc]
    # Each config owns its own cache, even when equal.
    assert a._idtokens is not b._idtokens


def test_repr_and_str_hide_the_key():
    config = LtiaasConfig(KEY, "https://tool.ltiaas.com")
    for text in (repr(config), str(config), f"{config!r}", f"{config}"):
        assert KEY not in text
        assert "https://tool.ltiaas.com" in text


def test_from_env():
    config = LtiaasConfig.from_env({"LTIAAS_API_KEY": KEY, "LTIAAS_URL": "https://a.ltiaas.com"}, timeout=3)
    assert (config.api_key, config.base_url, config.timeout) == (KEY, "https://a.ltiaas.com", 3)


def test_from_env_reads_os_environ(monkeypatch):
    monkeypatch.setenv("LTIAAS_API_KEY", KEY)
    monkeypatch.setenv("LTIAAS_URL", "https://b.ltiaas.com")
    assert LtiaasConfig.from_env().base_url == "https://b.ltiaas.com"


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({"LTIAAS_URL": "https://a.ltiaas.com"}, "LTIAAS_API_KEY"),
        ({"LTIAAS_API_KEY": KEY}, "LTIAAS_URL"),
        ({"LTIAAS_API_KEY": "  ", "LTIAAS_URL": "https://a.ltiaas.com"}, "LTIAAS_API_KEY"),
    ],
)
def test_from_env_names_the_missing_variable_never_a_value(environ, missing):
    with pytest.raises(ValueError, match=missing) as info:
        LtiaasConfig.from_env(environ)
    assert KEY not in str(info.value)


def test_from_env_bad_key_never_echoed():
    with pytest.raises(InvalidCredential) as info:
        LtiaasConfig.from_env({"LTIAAS_API_KEY": "bad key!", "LTIAAS_URL": "https://a.ltiaas.com"})
    assert "bad key!" not in str(info.value)


def test_cache_info_starts_empty():
    info = LtiaasConfig(KEY, "https://tool.ltiaas.com").cache_info()
    assert info == (0, 0, 0, 0)
    assert (info.hits, info.misses, info.fetches, info.size) == (0, 0, 0, 0)
