"""An OpenTelemetry span processor that keeps ltiks and keys out of exported spans.

The WSGI and ASGI instrumentations record the request's query in every server span (``url.query``, or
``http.target`` / ``http.url`` under the older conventions), so each launch span holds its ltik; with header
capture on (``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST``) ``Authorization`` and ``X-Ltik``
are recorded too. :class:`RedactingSpanProcessor` wraps the processor that exports (a
``BatchSpanProcessor``): the value of ``ltik`` in a URL attribute is masked with the key and the rest of the
query kept, as the semantic conventions ask of sensitive query values; captured header attributes of a
sensitive name are dropped; every other string (attributes, event attributes such as
``exception.message``, the status description) is masked through the package's one scanner.

What the SDK allows decides the shape: a span is mutable until it ends, but the instrumentations add the
captured headers after ``on_start``, and by ``on_end`` the span is read-only (its attributes are frozen
before any processor sees it). So ``on_start`` masks the URL attributes on the live span, and ``on_end``
hands the wrapped processor a masked copy: only the wrapped processor (and its exporter) is protected,
processors added to the provider beside it see the span as recorded. This module imports OpenTelemetry and
nothing of the package imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status

from .redact import Redactor, is_sensitive_name, redact_url

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.util.types import AttributeValue

    from .config import LtiaasConfig

__all__ = ["URL_ATTRIBUTES", "RedactingSpanProcessor"]

#: Attributes holding a URL or a query: their ``ltik`` value is masked, the rest of the query kept.
URL_ATTRIBUTES = frozenset({"url.query", "url.full", "url.path", "http.target", "http.url"})


class RedactingSpanProcessor(SpanProcessor):
    """Wraps ``processor`` so that it only ever sees masked spans.

    ``RedactingSpanProcessor(BatchSpanProcessor(exporter), config)``; ``config`` (optional) adds its API key
    to what is masked, ``secrets`` any other values.
    """

    def __init__(
        self, processor: SpanProcessor, config: LtiaasConfig | None = None, *, secrets: Iterable[str] = ()
    ) -> None:
        self.processor = processor
        self.redactor = Redactor(config, secrets=secrets)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for name, value in list((span.attributes or {}).items()):  # a copy: set_attribute changes the dict
            if name in URL_ATTRIBUTES and isinstance(value, str):
                masked = redact_url(value, self.redactor)
                if masked != value:
                    span.set_attribute(name, masked)
        self.processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.processor.on_end(self.redacted(span))

    def shutdown(self) -> None:
        self.processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.processor.force_flush(timeout_millis)

    def redacted(self, span: ReadableSpan) -> ReadableSpan:
        """A copy of ``span`` with every credential masked and sensitive header attributes dropped."""
        status = span.status
        if status.description:
            status = Status(status.status_code, self.redactor.redact(status.description))
        return ReadableSpan(
            name=redact_url(span.name, self.redactor),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes, span.dropped_attributes),
            events=[
                Event(event.name, self._attributes(event.attributes), event.timestamp)
                for event in span.events
            ],
            links=span.links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def _attributes(self, attributes: Mapping[str, Any] | None, dropped: int = 0) -> BoundedAttributes:
        masked: dict[str, AttributeValue] = {}
        for name, value in (attributes or {}).items():
            if is_sensitive_name(name.rpartition(".")[2]):
                dropped += 1
                continue
            masked[name] = self._value(name, value)
        result = BoundedAttributes(maxlen=None, attributes=masked, immutable=True)
        result.dropped = dropped
        return result

    def _value(self, name: str, value: AttributeValue) -> AttributeValue:
        if isinstance(value, str):
            return redact_url(value, self.redactor) if name in URL_ATTRIBUTES else self.redactor.redact(value)
        if isinstance(value, Sequence) and value and isinstance(value[0], str):
            return tuple(self.redactor.redact(item) if isinstance(item, str) else item for item in value)
        return value
