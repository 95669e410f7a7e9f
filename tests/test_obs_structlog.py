"""structlog: an event with the ltik, the API key and an idtoken in several fields renders none of them."""

from __future__ import annotations

import io
import json
from typing import Any

import jwt
import pytest
import structlog

from ltiaas_auth import LtiaasConfig
from ltiaas_auth.structlog import RedactingProcessor

API_KEY = "api-KEY_0123456789abcdef"
SERVICE_KEY = "svc-0123456789abcdefghij"
LTIK = jwt.encode({"iat": 1_700_000_000, "s": "a" * 40}, "s" * 32, algorithm="HS256")
CONFIG = LtiaasConfig(API_KEY, "https://your.ltiaas.com")
IDTOKEN: dict[str, Any] = {
    "user": {"id": "u1", "roles": ["Learner"]},
    "services": {"serviceKey": SERVICE_KEY},
}


def render(processor: RedactingProcessor | None, renderer: structlog.typing.Processor) -> str:
    stream = io.StringIO()
    processors = [structlog.processors.add_log_level]
    if processor is not None:
        processors.append(processor)
    logger = structlog.wrap_logger(structlog.PrintLogger(stream), processors=[*processors, renderer])
    logger.info(
        "grade passback",
        url=f"https://tool.example/grades?ltik={LTIK}&page=2",
        headers={"Authorization": f"LTIK-AUTH-V2 {API_KEY}:{LTIK}", "X-Ltik": "opaque-token"},
        idtoken=IDTOKEN,
        idtoken_text=json.dumps(IDTOKEN),
        attempts=[f"Bearer {API_KEY}", 3],
        note=f"configured with {API_KEY}",  # recognisable only as the configured key
        status=502,
    )
    try:
        raise RuntimeError(f"LTIAAS refused SERVICE-AUTH-V1 {API_KEY}:{SERVICE_KEY}")
    except RuntimeError:
        logger.exception("failed", ltik=LTIK)
    return stream.getvalue()


@pytest.mark.parametrize(
    "renderer",
    [
        pytest.param(structlog.processors.JSONRenderer(), id="json"),
        pytest.param(structlog.processors.KeyValueRenderer(), id="key-value"),
        pytest.param(structlog.dev.ConsoleRenderer(colors=False), id="console"),
    ],
)
def test_no_credential_is_rendered(renderer: structlog.typing.Processor) -> None:
    output = render(RedactingProcessor(CONFIG), renderer)
    for secret in (LTIK, API_KEY, SERVICE_KEY, "opaque-token", LTIK.split(".")[1]):
        assert secret not in output
    # The event is still there, with its shape.
    assert "grade passback" in output
    assert "ltik=***&page=2" in output
    assert "RuntimeError: LTIAAS refused SERVICE-AUTH-V1 ***" in output
    assert "502" in output


def test_the_data_keeps_its_shape() -> None:
    first = render(RedactingProcessor(CONFIG), structlog.processors.JSONRenderer()).splitlines()[0]
    event = json.loads(first)
    assert event["headers"] == {"Authorization": "***", "X-Ltik": "***"}
    assert event["idtoken"] == {"user": {"id": "u1", "roles": ["Learner"]}, "services": {"serviceKey": "***"}}
    assert json.loads(event["idtoken_text"])["services"]["serviceKey"] == "***"
    assert event["attempts"] == ["Bearer ***", 3]
    assert event["status"] == 502
    assert event["note"] == "configured with ***"
    assert IDTOKEN["services"]["serviceKey"] == SERVICE_KEY  # the caller's data is left alone


def test_without_the_processor_everything_leaks() -> None:
    """The test above can fail: structlog alone renders each of them."""
    output = render(None, structlog.processors.JSONRenderer())
    assert LTIK in output
    assert API_KEY in output
    assert SERVICE_KEY in output


def test_from_env_masks_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTIAAS_API_KEY", API_KEY)
    output = render(RedactingProcessor.from_env(), structlog.processors.JSONRenderer())
    assert API_KEY not in output
