"""What the adapters share besides the origin check: LTIAAS's answer turned into the classified error.

An adapter that sees LTIAAS answer non-2xx (or not at all) raises what :func:`ltiaas_auth.upstream_error`
makes of it, and reports it through :func:`ltiaas_auth._upstream_log.report_upstream_failure`, so the
failure is logged once per kind per interval whichever client met it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._upstream_log import report_upstream_failure
from ..context import credential_var
from ..errors import UpstreamError, retry_after_seconds, upstream_error
from ..upstream import error_body

if TYPE_CHECKING:
    from ..config import LtiaasConfig

__all__ = ["answer_error", "unreachable_error"]


def answer_error(
    config: LtiaasConfig | None,
    status: int,
    body: bytes,
    *,
    scheme: str | None,
    retry_after: str | None,
    method: str,
    path: str,
    elapsed: float | None,
) -> UpstreamError | None:
    """The classified error for LTIAAS's answer ``status`` / ``body`` (None for 1xx-3xx), reported."""
    if status < 400:
        return None
    error = upstream_error(
        status, error_body(body), scheme=scheme, retry_after=retry_after_seconds(retry_after)
    )
    _report(config, error, method=method, path=path, elapsed=elapsed, timed_out=False)
    return error


def unreachable_error(
    config: LtiaasConfig | None,
    failure: BaseException,
    *,
    timed_out: bool,
    method: str,
    path: str,
    elapsed: float | None,
) -> UpstreamError:
    """The ``UpstreamError`` for a call that got no answer (refused, reset, timed out), reported.

    Raise it ``from None``: the client's frames below hold the request, headers included."""
    what = "did not answer in time" if timed_out else f"could not be reached ({type(failure).__name__})"
    error = upstream_error(None, None, scheme=None, description=f"LTIAAS {what}.")
    _report(config, error, method=method, path=path, elapsed=elapsed, timed_out=timed_out)
    return error


def _report(
    config: LtiaasConfig | None,
    error: UpstreamError,
    *,
    method: str,
    path: str,
    elapsed: float | None,
    timed_out: bool,
) -> None:
    credential = credential_var.get()
    config = config or (credential.config if credential is not None else None)
    if config is None:
        return
    ltik = getattr(credential, "ltik", None)
    report_upstream_failure(
        config,
        error,
        method=method,
        path=path,
        elapsed=elapsed,
        fingerprint=getattr(ltik, "fingerprint", None),
        timed_out=timed_out,
    )
