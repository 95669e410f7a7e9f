"""OpenTelemetry: the real WSGI and ASGI instrumentations, exporting through the redacting span processor.

The URL attributes keep ``ltik=`` and the rest of the query with the value masked; captured ``Authorization``
and ``X-Ltik`` header attributes are dropped while other captured headers stay; the error an app raised is
masked in the span's events. Both conventions are on (``http/dup``: ``http.target``/``http.url`` and
``url.query``/``url.path``), set before any instrumentation reads it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http/dup")

import pytest
from helpers import asgi_scope, call_asgi, call_wsgi, wsgi_environ
from opentelemetry.context import Context
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as AsgiTelemetry
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as WsgiTelemetry
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasMiddleware, auth_header
from ltiaas_auth.otel import RedactingSpanProcessor
from ltiaas_auth.testing import FakeLtiaas

CAPTURE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def tracing(fake: FakeLtiaas, *, redact: bool = True) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    exporting = SimpleSpanProcessor(exporter)
    provider.add_span_processor(RedactingSpanProcessor(exporting, fake.config()) if redact else exporting)
    return provider, exporter


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/fail":
        raise RuntimeError(f"grade passback failed with {auth_header()}")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["path"] == "/fail":
        raise RuntimeError(f"grade passback failed with {auth_header()}")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def request_wsgi(fake: FakeLtiaas, provider: TracerProvider, path: str, ltik: str) -> None:
    app = WsgiTelemetry(LtiaasMiddleware(wsgi_app, fake.config()), tracer_provider=provider)
    environ = wsgi_environ(
        path,
        query=f"ltik={ltik}&page=2",
        headers={"Authorization": f"Bearer {ltik}", "X-Ltik": ltik, "User-Agent": "pytest"},
    )
    environ["RAW_URI"] = f"{path}?{environ['QUERY_STRING']}"  # as gunicorn sets it
    if path == "/fail":
        with pytest.raises(RuntimeError):
            call_wsgi(app, environ)
    else:
        assert call_wsgi(app, environ)[0] == 200


def request_asgi(fake: FakeLtiaas, provider: TracerProvider, path: str, ltik: str) -> None:
    app = AsgiTelemetry(LtiaasASGIMiddleware(asgi_app, fake.config()), tracer_provider=provider)
    headers = [
        (b"authorization", f"Bearer {ltik}".encode()),
        (b"x-ltik", ltik.encode()),
        (b"user-agent", b"pytest"),
    ]
    scope = asgi_scope(path, query=f"ltik={ltik}&page=2".encode(), headers=headers)
    if path == "/fail":
        with pytest.raises(RuntimeError):
            asyncio.run(call_asgi(app, scope))
    else:
        assert asyncio.run(call_asgi(app, scope)).status == 200


REQUESTS = [pytest.param(request_wsgi, id="wsgi"), pytest.param(request_asgi, id="asgi")]


def server_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    return next(span for span in exporter.get_finished_spans() if span.kind == SpanKind.SERVER)


def everything(exporter: InMemorySpanExporter) -> str:
    return "\n".join(span.to_json() for span in exporter.get_finished_spans())


@pytest.mark.parametrize("request_", REQUESTS)
@pytest.mark.parametrize(
    "capture", [pytest.param(False, id="no-header-capture"), pytest.param(True, id="capture")]
)
def test_url_attributes_keep_the_key_with_the_value_masked(
    fake: FakeLtiaas, request_: Any, capture: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if capture:
        monkeypatch.setenv(CAPTURE, "authorization,x-ltik,user-agent")
    provider, exporter = tracing(fake)
    ltik = fake.launch()
    request_(fake, provider, "/launch", ltik)
    attributes = server_span(exporter).attributes or {}
    assert attributes["url.query"] == "ltik=***&page=2"
    assert attributes["url.path"] == "/launch"
    # The older conventions: WSGI records the request line's target (gunicorn's RAW_URI), ASGI the full
    # URL; either way with the query masked the same way.
    old = {name: str(attributes[name]) for name in ("http.target", "http.url") if name in attributes}
    assert old
    assert all(value.endswith("/launch?ltik=***&page=2") or value == "/launch" for value in old.values())
    assert any(value.endswith("/launch?ltik=***&page=2") for value in old.values())
    headers = {name for name in attributes if name.startswith("http.request.header.")}
    assert headers == ({"http.request.header.user_agent"} if capture else set())
    assert ltik not in everything(exporter)
    assert ltik.split(".")[1] not in everything(exporter)


@pytest.mark.parametrize("request_", REQUESTS)
def test_an_error_in_the_app_is_masked_in_the_span(
    fake: FakeLtiaas, request_: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE, "authorization,x-ltik")
    provider, exporter = tracing(fake)
    ltik = fake.launch()
    request_(fake, provider, "/fail", ltik)
    dumped = everything(exporter)
    assert ltik not in dumped
    assert fake.api_key not in dumped
    assert "grade passback failed with LTIK-AUTH-V2 ***" in dumped  # the exception event, masked


@pytest.mark.parametrize("request_", REQUESTS)
def test_without_the_processor_the_spans_carry_the_ltik(
    fake: FakeLtiaas, request_: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests above can fail: the bare instrumentation records the ltik and the captured headers."""
    monkeypatch.setenv(CAPTURE, "authorization,x-ltik")
    provider, exporter = tracing(fake, redact=False)
    ltik = fake.launch()
    request_(fake, provider, "/launch", ltik)
    attributes = server_span(exporter).attributes or {}
    assert ltik in str(attributes["url.query"])
    assert "http.request.header.authorization" in attributes
    assert "http.request.header.x_ltik" in attributes


class StartSeen(SpanProcessor):
    """A wrapped processor that records the attributes of each span as it starts."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started.append(dict(span.attributes or {}))


def test_the_live_span_is_masked_when_it_starts() -> None:
    """Processors that read a span while it runs (the wrapped one) see the URL attributes masked already."""
    seen = StartSeen()
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor(seen))
    attributes: dict[str, AttributeValue] = {
        "url.query": "ltik=opaque&page=2",
        "http.target": "/launch?ltik=opaque",
        "n": 1,
    }
    with provider.get_tracer(__name__).start_as_current_span("GET /launch", attributes=attributes):
        pass
    assert seen.started == [{"url.query": "ltik=***&page=2", "http.target": "/launch?ltik=***", "n": 1}]
