"""LTIAAS's failures through the API client: the finer error tree from real answers of FakeLtiaas, the
whole body kept, retries for GET/PUT/DELETE only, and no key or token in any text, repr or traceback."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import DRIVERS

from ltiaas_auth import (
    ApiKeyRejected,
    InvalidLtik,
    InvalidRequest,
    LmsError,
    LtiaasConfig,
    LtikRefused,
    NotFound,
    RateLimited,
    ServiceNotAvailable,
    UpstreamError,
    api_key_context,
    launch_context,
    service_context,
)
from ltiaas_auth.testing import FakeLtiaas

FAST = {"max_retry_wait": 0.05}  # keep backoffs short in tests


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as started:
        yield started


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api(fake: FakeLtiaas, mode: str) -> Iterator[Any]:
    with DRIVERS[mode](fake.config(), **FAST) as driver:
        yield driver


def secrets_of(fake: FakeLtiaas, *ltiks: str) -> list[str]:
    found = [fake.api_key, *ltiks]
    found += [key for ltik in ltiks if (key := fake.service_key_for(ltik))]
    return found


def assert_no_secret(error: BaseException, secrets: list[str]) -> None:
    texts = [str(error), repr(error), getattr(error, "description", "")]
    texts.append("".join(traceback.format_exception(error)))
    for frame, _line in traceback.walk_tb(
        error.__traceback__
    ):  # our frames' locals, as capture_locals shows them
        if "ltiaas_auth" in frame.f_code.co_filename:
            texts.extend(repr(value) for value in frame.f_locals.values())
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_an_ltik_ltiaas_refuses_is_ltik_refused(fake: FakeLtiaas, api: Any) -> None:
    with FakeLtiaas() as elsewhere:
        foreign = elsewhere.launch()  # a well-formed ltik this LTIAAS did not sign
    with launch_context(fake.config(), foreign), pytest.raises(LtikRefused) as caught:
        api("memberships")
    error = caught.value
    assert isinstance(error, InvalidLtik)
    assert error.status == 401
    assert error.upstream_code == "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
    assert error.body["details"]["description"] == "Invalid or expired ltik."
    assert len(fake.calls) == 1  # a 401 is never retried
    assert_no_secret(error, [fake.api_key, foreign])


def test_a_wrong_api_key_is_api_key_rejected(fake: FakeLtiaas, mode: str) -> None:
    config = LtiaasConfig("not-the-key", fake.url)
    with DRIVERS[mode](config, **FAST) as api, pytest.raises(ApiKeyRejected) as caught:
        api("platforms")
    assert caught.value.body["details"]["description"] == "Invalid API key"
    assert_no_secret(caught.value, ["not-the-key", fake.api_key])


def test_rate_limited_with_retry_after_beyond_the_cap_is_raised_at_once(fake: FakeLtiaas, api: Any) -> None:
    fake.fail_next(429, count=5, headers={"Retry-After": "120"})
    with api_key_context(fake.config()), pytest.raises(RateLimited) as caught:
        api("platform", fake.platform_id)
    assert caught.value.retry_after == 120
    assert len(fake.calls) == 1


def test_rate_limited_within_the_cap_is_retried(fake: FakeLtiaas, api: Any) -> None:
    fake.fail_next(429, headers={"Retry-After": "0"})
    with api_key_context(fake.config()):
        assert api("platform", fake.platform_id).id == fake.platform_id
    assert [c.status for c in fake.calls] == [429, 200]


def test_a_missing_service_is_service_not_available(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch(services=("deepLinking",))
    with launch_context(fake.config(), ltik), pytest.raises(ServiceNotAvailable) as caught:
        api("memberships")
    assert caught.value.upstream_code == "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"
    assert len(fake.calls) == 1


def test_an_error_of_the_lms_is_lms_error_with_the_whole_body(fake: FakeLtiaas, api: Any) -> None:
    body = {
        "status": 502,
        "error": "Bad Gateway",
        "details": {
            "message": "PLATFORM_ERROR",
            "description": "The LMS refused the score: user not enrolled",
            "externalError": True,
            "externalUrl": "https://lms.example.edu/api/lti/x",
        },
    }
    ltik = fake.launch()
    fake.fail_next(502, body=body)
    with launch_context(fake.config(), ltik), pytest.raises(LmsError) as caught:
        api("submit_score", "https://lms.example.edu/item/1", user_id="u", score_given=1, score_maximum=1)
    assert caught.value.body == body
    assert caught.value.description == "The LMS refused the score: user not enrolled"
    assert len(fake.calls) == 1  # a POST is never retried


def test_an_unknown_line_item_is_not_found(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    with launch_context(fake.config(), ltik), pytest.raises(NotFound) as caught:
        api("line_item", "https://lms.example.edu/nope")
    assert caught.value.body["details"]["description"] == "Line item not found."


def test_a_refused_field_is_invalid_request_naming_it(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    with service_context(fake.config(), fake.service_key_for(ltik)), pytest.raises(InvalidRequest) as caught:
        api("create_line_item", label="Quiz", score_maximum=0)
    assert "scoreMaximum" in caught.value.description
    assert caught.value.upstream_code == "VALIDATION_ERROR"
    assert_no_secret(caught.value, secrets_of(fake, ltik))


# --- retries

IDEMPOTENT = [
    pytest.param("GET", id="get"),
    pytest.param("PUT", id="put"),
    pytest.param("DELETE", id="delete"),
]


def _idempotent_call(api: Any, method: str, item_id: str) -> None:
    if method == "GET":
        api("line_item", item_id)
    elif method == "PUT":
        api("update_line_item", item_id, label="New", score_maximum=2)
    else:
        api("delete_line_item", item_id)


@pytest.mark.parametrize("method", IDEMPOTENT)
@pytest.mark.parametrize("status", [502, 503, 504])
def test_idempotent_calls_are_retried_after_a_transient_answer(
    fake: FakeLtiaas, api: Any, method: str, status: int
) -> None:
    ltik = fake.launch()
    with launch_context(fake.config(), ltik):
        item = api("create_line_item", label="Quiz", score_maximum=1)
        fake.reset()
        fake.fail_next(status)
        _idempotent_call(api, method, item.id)
    assert [(c.method, c.status) for c in fake.calls] == [
        (method, status),
        (method, 204 if method == "DELETE" else 200),
    ]


@pytest.mark.parametrize("method", IDEMPOTENT)
def test_idempotent_calls_are_retried_after_a_dropped_connection(
    fake: FakeLtiaas, api: Any, method: str
) -> None:
    ltik = fake.launch()
    with launch_context(fake.config(), ltik):
        item = api("create_line_item", label="Quiz", score_maximum=1)
        fake.reset()
        fake.drop_next()
        _idempotent_call(api, method, item.id)
    assert next(c.status for c in fake.calls) is None
    assert len(fake.calls) == 2


def test_a_post_is_never_retried(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    fake.fail_next(503)
    with launch_context(fake.config(), ltik), pytest.raises(UpstreamError) as caught:
        api("create_line_item", label="Quiz", score_maximum=1)
    assert caught.value.upstream_status == 503
    assert len(fake.calls) == 1
    fake.reset()
    fake.drop_next()
    with launch_context(fake.config(), ltik), pytest.raises(UpstreamError) as caught:
        api("create_line_item", label="Quiz", score_maximum=1)
    assert caught.value.upstream_status is None
    assert len(fake.calls) == 1


def test_retries_stop_at_max_retries(fake: FakeLtiaas, mode: str) -> None:
    fake.fail_next(503, count=5)
    with (
        DRIVERS[mode](fake.config(), max_retries=2, **FAST) as api,
        api_key_context(fake.config()),
        pytest.raises(UpstreamError) as caught,
    ):
        api("platforms")
    assert caught.value.upstream_status == 503
    assert len(fake.calls) == 3


def test_no_retries_with_max_retries_0(fake: FakeLtiaas, mode: str) -> None:
    fake.fail_next(503)
    with DRIVERS[mode](fake.config(), max_retries=0) as api, pytest.raises(UpstreamError):
        api("platforms")
    assert len(fake.calls) == 1


def test_a_4xx_is_never_retried(fake: FakeLtiaas, api: Any) -> None:
    fake.fail_next(400)
    with pytest.raises(InvalidRequest):
        api("platforms")
    assert len(fake.calls) == 1


def test_unreachable_is_an_upstream_error_with_no_status(mode: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = LtiaasConfig("key_0123456789", f"http://127.0.0.1:{port}")
    with DRIVERS[mode](config, **FAST) as api, pytest.raises(UpstreamError) as caught:
        api("platforms")
    assert caught.value.upstream_status is None
    assert caught.value.to_body()["details"]["message"] == "UPSTREAM_UNAVAILABLE"
    assert_no_secret(caught.value, ["key_0123456789"])


def test_a_slow_answer_times_out(fake: FakeLtiaas, mode: str) -> None:
    fake.latency = 2.0
    try:
        with DRIVERS[mode](fake.config(), max_retries=0) as api, pytest.raises(UpstreamError) as caught:
            api("platforms", timeout=0.2)
    finally:
        fake.latency = 0.0
    assert caught.value.upstream_status is None
    assert "time" in caught.value.description


def test_a_redirect_is_not_followed(fake: FakeLtiaas, api: Any) -> None:
    fake.fail_next(302, body="", headers={"Location": "https://elsewhere.example/steal"})
    with pytest.raises(UpstreamError) as caught:
        api("platforms")
    assert caught.value.upstream_status == 302
    assert len(fake.calls) == 1


def test_a_2xx_that_is_not_what_the_endpoint_promises(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    fake.fail_next(200, body={"unexpected": True})
    with launch_context(fake.config(), ltik), pytest.raises(UpstreamError, match="unexpectedly"):
        api("line_item", "x")
    fake.fail_next(200, body={"unexpected": True})
    with pytest.raises(UpstreamError, match="no `platforms` list"):
        api("platforms")
    fake.fail_next(200, body="<html>")
    with pytest.raises(UpstreamError, match="not JSON"):
        api("platforms")


def test_upstream_trouble_is_logged_once_per_kind(
    fake: FakeLtiaas, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    ltik = fake.launch()
    fake.fail_next(503, count=6)
    with (
        DRIVERS[mode](fake.config(), **FAST) as api,
        caplog.at_level(logging.WARNING, logger="ltiaas_auth"),
        launch_context(fake.config(), ltik),
    ):
        for _ in range(2):  # two calls, three attempts each: six 503s
            with pytest.raises(UpstreamError):
                api("line_items")
    lines = [record for record in caplog.records if record.name == "ltiaas_auth"]
    assert len(lines) == 1
    text = lines[0].getMessage()
    assert "503" in text
    assert "/api/lineitems" in text
    assert fake.api_key not in text
    assert ltik not in text
