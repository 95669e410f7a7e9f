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
    └── UpstreamError                   <LTIAAS's code>        502
                                        or UPSTREAM_UNAVAILABLE
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, ClassVar

__all__ = [
    "AmbiguousLtik",
    "ExpiredLtik",
    "ForeignOriginError",
    "InvalidCredential",
    "InvalidLtik",
    "LtiaasAuthError",
    "MissingLtik",
    "NoLaunchContext",
    "UpstreamError",
]


class LtiaasAuthError(Exception):
    """Base of every ltiaas_auth error."""

    code: str = "LTIAAS_AUTH_ERROR"
    status: int = 500
    default_description: ClassVar[str] = "ltiaas_auth error."

    def __init__(self, description: str | None = None) -> None:
        self.description = description or self.default_description
        super().__init__(self.description)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, description={self.description!r})"

    def to_body(self) -> dict[str, Any]:
        """This error in LTIAAS's own error shape, ready to serialise as JSON."""
        return {
            "status": self.status,
            "error": HTTPStatus(self.status).phrase,
            "details": {"message": self.code, "description": self.description},
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
        if isinstance(message, str) and message:
            self.code = message
        super().__init__(description)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, upstream_status={self.upstream_status!r}, "
            f"description={self.description!r})"
        )


def _details(body: dict[str, Any] | None) -> dict[str, Any]:
    details = body.get("details") if body else None
    return details if isinstance(details, dict) else {}
