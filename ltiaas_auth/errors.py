"""The errors ltiaas_auth raises, each with a machine-readable ``code``.

Every error carries ``code`` (LTIAAS's ``details.message`` vocabulary), ``status`` (the HTTP status the
middleware answers with) and ``description`` (a sentence for humans). No error text ever contains an API
key, a service key or a whole ltik.

::

    LtiaasAuthError                     (code,                status)
    ├── MissingLtik                     MISSING_LTIK           401
    ├── InvalidLtik                     INVALID_LTIK           401
    │   └── ExpiredLtik                 LTIK_EXPIRED           401
    ├── AmbiguousLtik                   AMBIGUOUS_LTIK         400
    ├── NoLaunchContext                 NO_LAUNCH_CONTEXT      500
    ├── InvalidCredential (ValueError)  INVALID_CREDENTIAL     500
    ├── ForeignOriginError              FOREIGN_ORIGIN         500
    ├── RoleRequired                    ROLE_REQUIRED          403
    └── UpstreamError                   <LTIAAS's code>        502
        │                               or UPSTREAM_UNAVAILABLE
        ├── LtikRefused (⊂ InvalidLtik)  INVALID_LTIK           401
        ├── ApiKeyRejected              API_KEY_REJECTED       502
        ├── ServiceKeyRejected          SERVICE_KEY_REJECTED   502
        ├── RateLimited                 RATE_LIMITED           502  (.retry_after)
        ├── ServiceNotAvailable         SERVICE_NOT_AVAILABLE  502
        ├── LmsError                    LMS_ERROR              502
        ├── NotFound                    NOT_FOUND              502
        └── InvalidRequest              INVALID_REQUEST        502

``code`` is for programs. What the edge (the middleware's rejection body) says is ``edge_code``: the same
as ``code`` except for upstream failures, which every client sees as ``UPSTREAM_UNAVAILABLE`` (and
``LtikRefused`` as ``INVALID_LTIK``), so nothing LTIAAS said reaches a browser. ``upstream_error()`` is the
one place an LTIAAS answer is classified; every caller (the idtoken fetch, the adapters, the API client)
goes through it.
"""

from __future__ import annotations

import email.utils
import time
from http import HTTPStatus
from typing import Any, ClassVar

from ._raised import record as _record

__all__ = [
    "AmbiguousLtik",
    "ApiKeyRejected",
    "ExpiredLtik",
    "ForeignOriginError",
    "InvalidCredential",
    "InvalidLtik",
    "InvalidRequest",
    "LmsError",
    "LtiaasAuthError",
    "LtikRefused",
    "MissingLtik",
    "NoLaunchContext",
    "NotFound",
    "RateLimited",
    "RoleRequired",
    "ServiceKeyRejected",
    "ServiceNotAvailable",
    "UpstreamError",
    "retry_after_seconds",
    "upstream_error",
]


class LtiaasAuthError(Exception):
    """Base of every ltiaas_auth error."""

    code: str = "LTIAAS_AUTH_ERROR"
    status: int = 500
    default_description: ClassVar[str] = "ltiaas_auth error."
    #: What a client is told (``details.message`` and ``description`` of the rejection body); None: the
    #: error's own ``code`` and ``description``.
    edge_code: ClassVar[str | None] = None
    edge_description: ClassVar[str | None] = None

    def __init__(self, description: str | None = None) -> None:
        self.description = description or self.default_description
        super().__init__(self.description)
        _record(self)  # so the middleware can answer it even after a framework turned it into a 500

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, description={self.description!r})"

    def answered_at_edge(self) -> bool:
        """Whether the middleware answers this error, raised during a request, like a rejection: the
        client's own (401, 400, 403 ``RoleRequired``) and upstream failures (:class:`UpstreamError`).
        Our programming errors (``NoLaunchContext``, ``ForeignOriginError``…: 500) stay the server's."""
        return self.status < 500

    def to_body(self) -> dict[str, Any]:
        """This error in LTIAAS's own error shape, ready to serialise as JSON."""
        return {
            "status": self.status,
            "error": HTTPStatus(self.status).phrase,
            "details": {
                "message": self.edge_code or self.code,
                "description": self.edge_description or self.description,
            },
        }


class MissingLtik(LtiaasAuthError):
    """A request that needs an ltik carries none."""

    code = "MISSING_LTIK"
    status = 401
    default_description = "This request carries no ltik; open the tool again from your course."


class InvalidLtik(LtiaasAuthError):
    """The ltik is malformed, oversized, or was refused by LTIAAS."""

    code = "INVALID_LTIK"
    status = 401
    default_description = "The ltik is malformed or was refused."


class ExpiredLtik(InvalidLtik):
    """The ltik is past its expiry (``exp``, else ``iat`` + max age), checked locally."""

    code = "LTIK_EXPIRED"
    default_description = "The ltik has expired; open the tool again from your course."


class AmbiguousLtik(LtiaasAuthError):
    """One request carries two different ltiks; neither is trusted."""

    code = "AMBIGUOUS_LTIK"
    status = 400
    default_description = "The request carries two different ltiks."


class NoLaunchContext(LtiaasAuthError):
    """No current credential of the needed kind (outside the middleware or a ``*_context()``)."""

    code = "NO_LAUNCH_CONTEXT"
    status = 500
    default_description = "There is no current LTIAAS credential of the needed kind."


class InvalidCredential(LtiaasAuthError, ValueError):
    """A key or token has characters outside its alphabet, so no header could be injected."""

    code = "INVALID_CREDENTIAL"
    status = 500
    default_description = "A key or token contains characters outside its allowed alphabet."


class ForeignOriginError(LtiaasAuthError):
    """An outbound request with LTIAAS credentials to an origin other than the configured one."""

    code = "FOREIGN_ORIGIN"
    status = 500
    default_description = "Refused to send LTIAAS credentials to an origin other than the configured one."


class UpstreamError(LtiaasAuthError):
    """LTIAAS answered with a non-2xx status, or could not be reached.

    ``upstream_status`` is LTIAAS's status (None when unreachable); ``body`` is its parsed error body
    (``{status, error, details}``) or None when it sent none that parses.
    """

    code = "UPSTREAM_UNAVAILABLE"
    status = 502
    default_description = "LTIAAS could not be reached."
    edge_code = "UPSTREAM_UNAVAILABLE"
    edge_description = "LTIAAS could not complete the request; try again in a moment."

    def __init__(
        self,
        description: str | None = None,
        *,
        upstream_status: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        self.upstream_status = upstream_status
        self.body = body
        message = _details(body).get("message")
        #: LTIAAS's own ``details.message`` (``INVALID_LTIK_AUTH_AUTHORIZATION_HEADER``…), or None.
        self.upstream_code: str | None = message if isinstance(message, str) and message else None
        if type(self) is UpstreamError and self.upstream_code:
            self.code = self.upstream_code  # the plain class speaks LTIAAS's vocabulary; subclasses their own
        super().__init__(description)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, upstream_status={self.upstream_status!r}, "
            f"description={self.description!r})"
        )

    def answered_at_edge(self) -> bool:
        return True  # 502 (401 for LtikRefused): LTIAAS's trouble is answered, never the server's 500


class LtikRefused(UpstreamError, InvalidLtik):
    """LTIAAS answered 401 for the ltik ("Invalid or expired ltik."): forged, tampered or revoked.

    The only upstream failure that is the client's fault, so the only one the edge answers with 401, and
    the only one remembered as a refusal (DESIGN §5)."""

    code = "INVALID_LTIK"
    status = 401
    default_description = "LTIAAS refused the ltik."
    edge_code = "INVALID_LTIK"
    edge_description = "LTIAAS refused the ltik; open the tool again from your course."


class ApiKeyRejected(UpstreamError):
    """LTIAAS answered 401 "Invalid API key": the tool's configuration is wrong, never the user's fault."""

    code = "API_KEY_REJECTED"
    default_description = "LTIAAS refused the API key; check LTIAAS_API_KEY against the LTIAAS portal."


class ServiceKeyRejected(UpstreamError):
    """LTIAAS answered 401 to a ``SERVICE-AUTH-V1`` call: the stored service key is unknown or stale."""

    code = "SERVICE_KEY_REJECTED"
    default_description = (
        "LTIAAS refused the service key; it is stale: a new launch of that context stores a fresh one."
    )


class RateLimited(UpstreamError):
    """LTIAAS answered 429. ``retry_after``: seconds from its ``Retry-After`` header, or None."""

    code = "RATE_LIMITED"
    default_description = "LTIAAS is rate limiting this tool."

    def __init__(
        self,
        description: str | None = None,
        *,
        upstream_status: int | None = 429,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(description, upstream_status=upstream_status, body=body)


class ServiceNotAvailable(UpstreamError):
    """The launch's context lacks that service (``INACTIVE_SERVICE``,
    ``SERVICE_NOT_AVAILABLE_FOR_CONTEXT``)."""

    code = "SERVICE_NOT_AVAILABLE"
    default_description = "That LTI service is not available for this launch's context."


class LmsError(UpstreamError):
    """LTIAAS passed on an error of the LMS (``details.externalError``)."""

    code = "LMS_ERROR"
    default_description = "The LMS answered with an error."


class NotFound(UpstreamError):
    """LTIAAS answered 404: an unknown line item, registration or platform."""

    code = "NOT_FOUND"
    default_description = "LTIAAS does not know that resource."


class InvalidRequest(UpstreamError):
    """LTIAAS answered 400 (``VALIDATION_ERROR``): what was sent was refused; the description names the
    field."""

    code = "INVALID_REQUEST"
    default_description = "LTIAAS refused the request as invalid."


class RoleRequired(LtiaasAuthError):
    """The launch's user holds none of the roles a view or route requires (role gates are any-of)."""

    code = "ROLE_REQUIRED"
    status = 403
    default_description = "Your role in this course does not give access to this page."


_SERVICE_CODES = frozenset({"INACTIVE_SERVICE", "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"})


def upstream_error(
    upstream_status: int | None,
    body: dict[str, Any] | None,
    *,
    scheme: str | None,
    retry_after: float | None = None,
    description: str | None = None,
) -> UpstreamError:
    """The one classification of an LTIAAS failure (DESIGN §3.5).

    ``upstream_status`` is None when LTIAAS could not be reached; ``body`` its parsed ``{status, error,
    details}`` (or None); ``scheme`` the ``Authorization`` scheme that was sent (``"LTIK-AUTH-V2"``,
    ``"LTIK-AUTH-V1"``, ``"SERVICE-AUTH-V1"``, ``"Bearer"``, or None). A 401 is told apart by the scheme
    and LTIAAS's description, its only signal: "Invalid API key" is always the key.
    """
    details = _details(body)
    said = details.get("description")
    text = description or (said if isinstance(said, str) and said else None)
    if upstream_status is None:
        return UpstreamError(text, body=body)
    if upstream_status == 401:
        names_key = isinstance(said, str) and "api key" in said.lower()
        cls: type[UpstreamError]
        if names_key or scheme == "Bearer":
            cls = ApiKeyRejected
        elif scheme == "SERVICE-AUTH-V1":
            cls = ServiceKeyRejected
        else:
            cls = LtikRefused
        return cls(text, upstream_status=401, body=body)
    if upstream_status == 429:
        return RateLimited(text, upstream_status=429, body=body, retry_after=retry_after)
    if details.get("message") in _SERVICE_CODES:
        return ServiceNotAvailable(text, upstream_status=upstream_status, body=body)
    if details.get("externalError") is True:
        return LmsError(text, upstream_status=upstream_status, body=body)
    if upstream_status == 404:
        return NotFound(text, upstream_status=404, body=body)
    if upstream_status == 400:
        return InvalidRequest(text, upstream_status=400, body=body)
    return UpstreamError(
        text or f"LTIAAS answered {upstream_status}.", upstream_status=upstream_status, body=body
    )


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (delay-seconds or an HTTP date) as seconds from now, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _details(body: dict[str, Any] | None) -> dict[str, Any]:
    details = body.get("details") if body else None
    return details if isinstance(details, dict) else {}
