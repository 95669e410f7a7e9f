"""Upstream trouble is never silent, and never a flood: one log line per kind per config per interval.

Every caller that sees LTIAAS answer (the idtoken fetch, the client adapters, the API client) hands the
failure to :func:`report_upstream_failure`; the rule "once per kind per config per :data:`INTERVAL`
seconds" lives in :func:`first_in_interval`, which anything else with a recurring condition can use too.
A line names the config's origin, the method and path (never the query), LTIAAS's status, the elapsed
time and the ltik's fingerprint; never a key, a token or a body. Lines are on the ``ltiaas_auth`` logger:
WARNING, and ERROR for a refused API key (a configuration error that refuses every user until fixed).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from .errors import ApiKeyRejected, RateLimited, ServiceKeyRejected

if TYPE_CHECKING:
    from .config import LtiaasConfig
    from .errors import UpstreamError

__all__ = ["INTERVAL", "first_in_interval", "report_upstream_failure", "upstream_failure_kind"]

log = logging.getLogger("ltiaas_auth")

#: Seconds between two lines of one kind for one config.
INTERVAL = 60.0
_MAX_KEYS = 4096  # (config, kind) pairs remembered; past that the memory starts afresh

_lock = threading.Lock()
_last: dict[tuple[object, str], tuple[float, int]] = {}  # -> (when logged, lines suppressed since)


def first_in_interval(
    config: LtiaasConfig, kind: str, *, interval: float = INTERVAL, now: float | None = None
) -> int | None:
    """Whether ``kind`` may be logged for ``config`` now: the number of occurrences suppressed since the
    last line (0 for the first), or None while the interval since that line has not passed.

    Equal configs share one memory; ``now`` is a ``time.monotonic()`` reading (for tests)."""
    now = time.monotonic() if now is None else now
    key = (config, kind)
    with _lock:
        last = _last.get(key)
        if last is not None and now - last[0] < interval:
            _last[key] = (last[0], last[1] + 1)
            return None
        if len(_last) >= _MAX_KEYS and last is None:
            _last.clear()
        _last[key] = (now, 0)
        return last[1] if last is not None else 0


def upstream_failure_kind(error: UpstreamError, *, timed_out: bool = False) -> str | None:
    """The kind of trouble ``error`` is, for logging: ``"api_key"``, ``"service_key"``, ``"rate_limited"``,
    ``"timeout"``, ``"unreachable"``, ``"server_error"``; None for an answer that is about the request
    (a refused ltik, 400, 404, a service the context lacks), which is the caller's to handle."""
    if isinstance(error, ApiKeyRejected):
        return "api_key"
    if isinstance(error, ServiceKeyRejected):
        return "service_key"
    if isinstance(error, RateLimited):
        return "rate_limited"
    status = error.upstream_status
    if status is None:
        return "timeout" if timed_out else "unreachable"
    if status >= 500:
        return "server_error"
    return None


_WHAT = {
    "api_key": "refused the API key: check LTIAAS_API_KEY against the LTIAAS portal; every launch is "
    "refused until it is fixed",
    "service_key": "refused a stored service key: it is stale, and a new launch of its context stores a "
    "fresh one",
    "rate_limited": "is rate limiting this tool",
    "timeout": "did not answer in time",
    "unreachable": "could not be reached",
    "server_error": "failed",
}


def report_upstream_failure(
    config: LtiaasConfig,
    error: UpstreamError,
    *,
    method: str = "GET",
    path: str,
    elapsed: float | None = None,
    fingerprint: str | None = None,
    timed_out: bool = False,
) -> None:
    """Log ``error`` (LTIAAS's answer to ``method path`` under ``config``) once per kind per interval.

    ``path`` is the request path (its query is dropped here: it may hold URLs of the LMS); ``elapsed``
    the seconds the call took; ``fingerprint`` the ltik's (``Ltik.fingerprint``), when there is one;
    ``timed_out`` tells a timeout from a refused connection when ``error.upstream_status`` is None.
    Failures that are about the request itself (see :func:`upstream_failure_kind`) are not logged."""
    kind = upstream_failure_kind(error, timed_out=timed_out)
    if kind is None:
        return
    suppressed = first_in_interval(config, kind)
    if suppressed is None:
        return
    status = error.upstream_status
    answer = f"answered {status}" if status is not None else "no answer"
    took = f" after {elapsed:.2f} s" if elapsed is not None else ""
    more = f"; {suppressed} more since the last line" if suppressed else ""
    log.log(
        logging.ERROR if kind == "api_key" else logging.WARNING,
        "LTIAAS at %s %s (%s %s: %s%s, ltik %s)%s",
        config.base_url,
        _WHAT[kind],
        method,
        path.partition("?")[0],
        answer,
        took,
        fingerprint or "-",
        more,
        extra={
            "ltiaas_kind": kind,
            "ltiaas_origin": config.base_url,
            "ltiaas_path": path.partition("?")[0],
            "ltiaas_status": status,
            "ltiaas_elapsed": elapsed,
        },
    )
