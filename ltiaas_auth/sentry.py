"""Sentry hooks that keep ltiks, the API key and service keys out of every event the SDK sends.

Sentry's SDK sends a request's ``query_string`` (``ltik=…``), its ``X-Ltik`` header and form fields as they
are: ``ltik`` matches none of its default scrubbing terms. :class:`SentryRedaction` masks them through the
package's one scanner (:class:`ltiaas_auth.redact.Redactor`): ``before_send`` walks the whole serialized
event (request, exception messages, frame variables, breadcrumbs, extra data, spans), ``before_breadcrumb``
each breadcrumb as it is recorded; :data:`DENYLIST` extends the SDK's ``EventScrubber`` defaults, and
:func:`data_collection` adds ``ltik`` to the terms of SDKs with the ``data_collection`` option (2.70 and
later), under which the SDK turns its ``EventScrubber`` off. ``sentry_sdk.init(dsn=…, **SentryRedaction(
config).options())`` sets all of it. This module imports ``sentry_sdk`` and nothing of the package imports
this module.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self

import sentry_sdk.consts
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from .redact import SENSITIVE_NAMES, Redactor

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = [
    "DATA_COLLECTION_TERMS",
    "DENYLIST",
    "SentryRedaction",
    "before_breadcrumb",
    "before_send",
    "data_collection",
]

#: The SDK's default denylist plus :data:`ltiaas_auth.redact.SENSITIVE_NAMES` in each spelling the SDK may
#: meet (it compares whole keys, lower-cased): ``x_ltik``, ``x-ltik``, WSGI's ``http_x_ltik``, ….
DENYLIST: list[str] = [
    *DEFAULT_DENYLIST,
    *sorted(
        {spelling for name in SENSITIVE_NAMES for spelling in (name, name.replace("_", "-"), f"http_{name}")}
        - {term.lower() for term in DEFAULT_DENYLIST}
    ),
]

#: Terms added to ``data_collection``'s deny lists (partial, case-insensitive: ``ltik`` also covers
#: ``X-Ltik``; the SDK's own terms already cover ``serviceKey`` and ``Authorization``).
DATA_COLLECTION_TERMS: tuple[str, ...] = ("ltik",)

# Hooks the installed SDK knows: each event kind that can carry a request's URL or a log message. (The SDK's
# streamed spans take ``before_send_span=hooks.before_send`` too, only with ``trace_lifecycle="stream"``.)
_HOOKS = ("before_send", "before_send_transaction", "before_send_log")


class SentryRedaction:
    """The hooks, bound to the secrets to mask: ``SentryRedaction(config)`` masks its API key too."""

    def __init__(self, config: LtiaasConfig | None = None, *, secrets: Iterable[str] = ()) -> None:
        self.redactor = Redactor(config, secrets=secrets)

    @classmethod
    def from_env(cls, *, secrets: Iterable[str] = ()) -> Self:
        """Hooks that also mask ``$LTIAAS_API_KEY`` when it is set."""
        instance = cls(secrets=secrets)
        instance.redactor = Redactor.from_env(secrets=secrets)
        return instance

    def before_send(self, event: Any, hint: Any) -> Any:
        """A masked copy of ``event`` (an error, a transaction, a log or a span: all plain data here)."""
        return self.redactor.redact_data(event)

    def before_breadcrumb(self, crumb: Any, hint: Any) -> Any:
        """A masked copy of ``crumb``: a logging breadcrumb's message, an HTTP breadcrumb's URL, its data."""
        return self.redactor.redact_data(crumb)

    def options(self, data_collection: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for ``sentry_sdk.init``: every hook the installed SDK has, and either an
        ``EventScrubber`` with :data:`DENYLIST` or, when ``data_collection`` is given, that setting with
        :data:`DATA_COLLECTION_TERMS` added (the SDK ignores ``event_scrubber`` under ``data_collection``)."""
        known = sentry_sdk.consts.DEFAULT_OPTIONS
        options: dict[str, Any] = {name: self.before_send for name in _HOOKS if name in known}
        options["before_breadcrumb"] = self.before_breadcrumb
        if data_collection is not None:
            options["data_collection"] = _with_terms(data_collection)
        else:
            options["event_scrubber"] = EventScrubber(denylist=list(DENYLIST), recursive=True)
        return options


def data_collection(settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``settings`` (a ``data_collection`` dict; ``{}`` when None) with :data:`DATA_COLLECTION_TERMS` added
    to the deny lists of cookies, request headers, URL query parameters and frame variables. Categories in
    ``"allowlist"`` or ``"off"`` mode are left as they are: they only send what they allow."""
    return _with_terms(settings or {})


def _with_terms(settings: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(settings))

    def add(parent: dict[str, Any], name: str) -> None:
        behaviour = parent.get(name)
        if behaviour is None or isinstance(behaviour, dict):
            behaviour = dict(behaviour or {})
            if behaviour.setdefault("mode", "denylist") == "denylist":
                terms = list(behaviour.get("terms") or [])
                behaviour["terms"] = [*terms, *(term for term in DATA_COLLECTION_TERMS if term not in terms)]
            parent[name] = behaviour

    add(result, "cookies")
    add(result, "url_query_params")
    headers = result.get("http_headers")
    headers = dict(headers) if isinstance(headers, dict) else {}
    add(headers, "request")
    result["http_headers"] = headers
    if isinstance(result.get("stack_frame_variables"), dict):
        add(result, "stack_frame_variables")
    return result


@functools.cache
def _from_env() -> SentryRedaction:
    return SentryRedaction.from_env()


def before_send(event: Any, hint: Any) -> Any:
    """``before_send`` for ``sentry_sdk.init`` that masks by shape and ``$LTIAAS_API_KEY`` (read once)."""
    return _from_env().before_send(event, hint)


def before_breadcrumb(crumb: Any, hint: Any) -> Any:
    """``before_breadcrumb`` for ``sentry_sdk.init``, masking as :func:`before_send` does."""
    return _from_env().before_breadcrumb(crumb, hint)
