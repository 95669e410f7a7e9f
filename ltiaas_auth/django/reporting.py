"""Error reports (the 500 page under ``DEBUG``, the admins' error mails) that never show an ltik.

.. code-block:: python

    DEFAULT_EXCEPTION_REPORTER_FILTER = "ltiaas_auth.django.reporting.LtikSafeExceptionReporterFilter"
    DEFAULT_EXCEPTION_REPORTER = "ltiaas_auth.django.reporting.LtikSafeExceptionReporter"

Django's ``SafeExceptionReporterFilter`` hides settings and headers whose *names* look secret (``API``,
``AUTH``, ``TOKEN``…), so it already masks ``HTTP_AUTHORIZATION``, but not ``HTTP_X_LTIK`` or the ltik in
``QUERY_STRING``; and the stock ``ExceptionReporter`` prints ``request.GET`` and the request URL without
asking the filter at all. The filter masks the ltik in ``GET``, ``POST``, ``QUERY_STRING``, ``X-Ltik``,
``Authorization`` and every URL-like ``META`` value; the reporter passes ``GET`` and the URL through it and
finally masks, in the whole rendered report (frame variables included), every ltik the request carried and
anything shaped like one (:class:`ltiaas_auth.redact.RedactingFilter`'s rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.datastructures import MultiValueDict
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from ..errors import AmbiguousLtik
from ..extract import from_authorization, from_header, from_query
from ..redact import MASK, RedactingFilter, redact_url

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["LtikSafeExceptionReporter", "LtikSafeExceptionReporterFilter", "request_ltiks"]

FIELD = "ltik"
#: The ``META`` keys of the two headers that carry an ltik.
_HEADERS = ("HTTP_X_LTIK", "HTTP_AUTHORIZATION")


class LtikSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: the ``ltik`` field of ``GET``/``POST`` (and of any ``QueryDict`` in a frame),
    the ``X-Ltik`` and ``Authorization`` headers, and the ``ltik`` parameter of every ``META`` string (the
    query string, ``REQUEST_URI``, ``Referer``…) are masked, whether or not ``DEBUG`` is on."""

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        meta: dict[str, Any] = super().get_safe_request_meta(request)
        for name, value in meta.items():
            if name in _HEADERS:
                meta[name] = self.cleansed_substitute
            elif isinstance(value, str) and FIELD in value.lower():
                meta[name] = redact_url(value)
        return meta

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        return self._masked(super().get_post_parameters(request))

    def get_safe_get(self, request: HttpRequest | None) -> Any:
        """``request.GET`` with its ltik masked (the stock reporter prints ``GET`` unfiltered)."""
        return self._masked(request.GET) if request is not None else {}

    def cleanse_special_types(self, request: HttpRequest | None, value: Any) -> Any:
        return self._masked(super().cleanse_special_types(request, value))

    def _masked(self, values: Any) -> Any:
        if isinstance(values, MultiValueDict) and FIELD in values:
            values = values.copy()
            values.setlist(FIELD, [self.cleansed_substitute] * len(values.getlist(FIELD)))
        elif isinstance(values, dict) and FIELD in values:
            values = {**values, FIELD: self.cleansed_substitute}
        return values


class LtikSafeExceptionReporter(ExceptionReporter):
    """Django's reporter with ``GET`` and the request URL through the filter, and the rendered report
    (HTML and text, so the 500 page and both parts of an admin mail) swept for the request's ltiks."""

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().get_traceback_data()
        if self.request is not None:
            get_safe = getattr(self.filter, "get_safe_get", None)
            safe_get = get_safe(self.request) if get_safe is not None else _masked_get(self.request)
            data["request_GET_items"] = safe_get.items()
            data["request_insecure_uri"] = redact_url(data.get("request_insecure_uri", ""))
        return data

    def get_traceback_html(self) -> SafeString:
        return mark_safe(self._sweep(super().get_traceback_html()))  # noqa: S308 - Django's page, masked

    def get_traceback_text(self) -> SafeString:
        return mark_safe(self._sweep(super().get_traceback_text()))  # noqa: S308 - Django's text, masked

    def _sweep(self, report: str) -> str:
        """The request's own ltiks replaced wherever they are (``str.replace``: linear, unbounded), then
        every line through ``RedactingFilter``, line by line because it scans a bounded length per text
        and a report is long while its lines are short (Django trims a frame variable to 4 KiB)."""
        secrets = request_ltiks(self.request) if self.request is not None else []
        for secret in sorted(set(secrets), key=len, reverse=True):
            report = report.replace(secret, MASK)
        redact = RedactingFilter(secrets=secrets).redact
        return "".join(redact(line) for line in report.splitlines(keepends=True))


def _masked_get(request: HttpRequest) -> Any:
    return LtikSafeExceptionReporterFilter()._masked(request.GET)


def request_ltiks(request: HttpRequest) -> list[str]:
    """Every ltik-like value the request carried, wherever the middleware could have found it (read with
    the middleware's own finders), and the launch's own token."""
    meta = request.META
    found: list[str] = list(from_query(meta.get("QUERY_STRING", "")))
    found += from_header(meta.get("HTTP_X_LTIK", ""))
    authorization = meta.get("HTTP_AUTHORIZATION", "")
    if authorization:
        try:
            token = from_authorization(authorization)
        except AmbiguousLtik:  # two Token= parameters: mask what follows the scheme instead
            token = authorization.partition(" ")[2].strip()
        if token:
            found.append(token)
    post = getattr(request, "_post", None)  # only a body already parsed: a report must not read one
    if isinstance(post, MultiValueDict):
        found += [value for value in post.getlist(FIELD) if isinstance(value, str) and value]
    launch = getattr(request, "ltiaas", None)
    if launch is not None:
        found.append(launch.ltik.raw)
    return found
