"""Properties: random text with a token embedded in any form the middleware accepts; every hook removes it.

The forms are those a request carries an ltik in (the query, also with the name or the value
percent-encoded, ``Authorization: Bearer``, ``LTIK-AUTH-V1``, ``X-Ltik``, a form or JSON body field), the
``Authorization`` values the library sends (``LTIK-AUTH-V2``, ``SERVICE-AUTH-V1``, ``Bearer``) and an
idtoken's ``serviceKey`` (JSON and dict repr). The token is a real JWS ltik or an opaque token68 value
(anything may be sent as an ltik). The hooks: ``RedactingFilter`` (message, argument, ``extra={}``,
traceback), ``redact_url``, Sentry's ``before_send`` and ``before_breadcrumb``, the structlog processor and
the OpenTelemetry span processor.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from urllib.parse import quote

import jwt
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ltiaas_auth import LtiaasConfig, RedactingFilter, redact_url
from ltiaas_auth._syntax import TOKEN68
from ltiaas_auth.otel import RedactingSpanProcessor
from ltiaas_auth.sentry import SentryRedaction
from ltiaas_auth.structlog import RedactingProcessor

API_KEY = "api-KEY_0123456789abcdef"
CONFIG = LtiaasConfig(API_KEY, "https://your.ltiaas.com")

# Each form puts the token in with what stands around it in a real request, header or document.
FORMS: dict[str, Callable[[str], str]] = {
    "query": lambda token: f"GET /launch?ltik={token}&page=2",
    "query-later": lambda token: f"/launch?page=2&ltik={token}",
    "query-encoded-name": lambda token: f"/launch?%6Ctik={token}",
    "query-encoded-value": lambda token: f"/launch?ltik={quote(token, safe='')}",
    "query-string": lambda token: f"ltik={token}",
    "form-body": lambda token: f"score=0.9&ltik={token}",
    "json-body": lambda token: json.dumps({"ltik": token}),
    "bearer": lambda token: f"Authorization: Bearer {token}",
    "legacy": lambda token: f"Authorization: LTIK-AUTH-V1 Token={token}, Additional=Bearer {API_KEY}",
    "legacy-quoted": lambda token: f'LTIK-AUTH-V1 Token="{token}"',
    "x-ltik": lambda token: f"X-Ltik: {token}",
    "wsgi-environ": lambda token: repr({"HTTP_X_LTIK": token}),
    "launch-header": lambda token: f"LTIK-AUTH-V2 {API_KEY}:{token}",
    "service-header": lambda token: f"SERVICE-AUTH-V1 {API_KEY}:{token}",
    "idtoken-json": lambda token: json.dumps({"services": {"serviceKey": token}}),
    "idtoken-repr": lambda token: repr({"services": {"serviceKey": token}}),
}

# Free text, and separators, around the form: the form itself carries what must stand next to the token.
text = st.text(st.characters(codec="utf-8"), max_size=30)
around = st.tuples(text, st.sampled_from([" ", "\n", "\t", "; ", " | "]))
opaque = st.from_regex(TOKEN68, fullmatch=True).filter(lambda token: len(token) >= 12)
ltiks = st.dictionaries(st.text(max_size=8), st.text(max_size=20) | st.integers(), max_size=3).map(
    lambda claims: jwt.encode(claims, "s" * 32, algorithm="HS256")
)
tokens = ltiks | opaque


def logged(value: str) -> str:
    """``value`` through a handler with the filter: as the message, an argument, extra and a traceback."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(field)s"))
    handler.addFilter(RedactingFilter(CONFIG))
    logger = logging.getLogger("test_obs_properties")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(value.replace("%", "%%"), extra={"field": value})
        logger.warning("got %s", value, extra={"field": [value]})
        try:
            raise RuntimeError(value)
        except RuntimeError:
            logger.exception("failed", extra={"field": {"seen": value}})
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def sentry(value: str) -> str:
    hooks = SentryRedaction(CONFIG)
    event = {
        "request": {"url": "https://tool.example/launch", "query_string": value, "data": value},
        "exception": {"values": [{"type": "RuntimeError", "value": value}]},
        "extra": {"note": value},
    }
    crumb = {"category": "log", "message": value, "data": {"url": value}}
    return json.dumps([hooks.before_send(event, {}), hooks.before_breadcrumb(crumb, {})])


def structlogged(value: str) -> str:
    stream = io.StringIO()
    processors: list[structlog.typing.Processor] = [
        RedactingProcessor(CONFIG),
        structlog.processors.JSONRenderer(),
    ]
    structlog.wrap_logger(structlog.PrintLogger(stream), processors=processors).info(value, field=value)
    return stream.getvalue()


def traced(value: str) -> str:
    exporter = InMemorySpanExporter()
    processor = RedactingSpanProcessor(SimpleSpanProcessor(exporter), CONFIG)
    attributes = {"url.query": value, "http.target": f"/launch?{value}", "note": value, "list": (value,)}
    processor.on_end(ReadableSpan(name=value, attributes=attributes))
    return "\n".join(span.to_json() for span in exporter.get_finished_spans())


HOOKS: dict[str, Callable[[str], str]] = {
    "logging": logged,
    "redact_url": redact_url,
    "sentry": sentry,
    "structlog": structlogged,
    "otel": traced,
}


@settings(max_examples=300)
@given(
    token=tokens,
    form=st.sampled_from(sorted(FORMS)),
    hook=st.sampled_from(sorted(HOOKS)),
    before=around,
    after=around,
)
def test_every_hook_removes_every_token(
    token: str, form: str, hook: str, before: tuple[str, str], after: tuple[str, str]
) -> None:
    value = before[0] + before[1] + FORMS[form](token) + after[1] + after[0]
    if hook == "redact_url" and form not in {"query", "query-later", "query-encoded-name", "query-string"}:
        value = FORMS["query"](token)  # redact_url is for URLs: give it one, around the same token
    output = HOOKS[hook](value)
    assert token not in output
    assert quote(token, safe="") not in output
    assert API_KEY not in output
