"""The one rule for upstream log lines: once per kind per config per interval, and what a line holds."""

from __future__ import annotations

import logging
import secrets

import pytest

from ltiaas_auth import (
    ApiKeyRejected,
    LmsError,
    LtiaasConfig,
    LtikRefused,
    NotFound,
    RateLimited,
    ServiceKeyRejected,
    UpstreamError,
)
from ltiaas_auth._upstream_log import first_in_interval, report_upstream_failure, upstream_failure_kind


def fresh_config() -> LtiaasConfig:
    """A config no other test has logged for (the memory is per config, process-wide)."""
    return LtiaasConfig(secrets.token_urlsafe(16), "https://example.ltiaas.com")


def test_once_per_interval_then_the_count_of_what_was_held_back() -> None:
    config = fresh_config()
    assert first_in_interval(config, "unreachable", now=1000.0) == 0
    assert first_in_interval(config, "unreachable", now=1001.0) is None
    assert first_in_interval(config, "unreachable", now=1059.9) is None
    assert first_in_interval(config, "unreachable", now=1060.0) == 2  # two held back since the last line
    assert first_in_interval(config, "unreachable", now=1061.0) is None


def test_kinds_and_configs_are_counted_apart() -> None:
    one, other = fresh_config(), fresh_config()
    assert first_in_interval(one, "timeout", now=5.0) == 0
    assert first_in_interval(one, "server_error", now=5.0) == 0
    assert first_in_interval(other, "timeout", now=5.0) == 0
    assert first_in_interval(one, "timeout", now=6.0) is None


def test_equal_configs_share_one_memory() -> None:
    config = fresh_config()
    twin = LtiaasConfig(config.api_key, config.base_url)
    assert first_in_interval(config, "api_key", now=1.0) == 0
    assert first_in_interval(twin, "api_key", now=2.0) is None


@pytest.mark.parametrize(
    ("error", "timed_out", "kind"),
    [
        pytest.param(ApiKeyRejected(upstream_status=401), False, "api_key", id="api-key"),
        pytest.param(ServiceKeyRejected(upstream_status=401), False, "service_key", id="service-key"),
        pytest.param(RateLimited(retry_after=3), False, "rate_limited", id="429"),
        pytest.param(UpstreamError(upstream_status=503), False, "server_error", id="503"),
        pytest.param(LmsError(upstream_status=502), False, "server_error", id="lms-5xx"),
        pytest.param(UpstreamError(), False, "unreachable", id="refused"),
        pytest.param(UpstreamError(), True, "timeout", id="timeout"),
        pytest.param(LtikRefused(upstream_status=401), False, None, id="refused-ltik-is-the-request's"),
        pytest.param(NotFound(upstream_status=404), False, None, id="404-is-the-request's"),
    ],
)
def test_kinds(error: UpstreamError, timed_out: bool, kind: str | None) -> None:
    assert upstream_failure_kind(error, timed_out=timed_out) == kind


def test_a_line_names_origin_path_status_time_and_fingerprint_never_a_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = fresh_config()
    caplog.set_level(logging.WARNING, logger="ltiaas_auth")
    for _ in range(3):
        report_upstream_failure(
            config,
            ApiKeyRejected(upstream_status=401),
            path="/api/memberships?url=https%3A%2F%2Flms.example%2Fsecret",
            elapsed=0.25,
            fingerprint="abc123def456",
        )
    [record] = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.ERROR
    assert record.name == "ltiaas_auth"
    for part in (
        "https://example.ltiaas.com",
        "refused the API key",
        "GET /api/memberships",
        "401",
        "0.25 s",
    ):
        assert part in message
    assert "abc123def456" in message
    assert "lms.example" not in message  # the query is dropped: it may carry the LMS's URLs
    assert config.api_key not in message
    assert (record.ltiaas_kind, record.ltiaas_status) == ("api_key", 401)  # type: ignore[attr-defined]


def test_failures_about_the_request_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ltiaas_auth")
    report_upstream_failure(fresh_config(), LtikRefused(upstream_status=401), path="/api/idtoken")
    assert caplog.records == []
