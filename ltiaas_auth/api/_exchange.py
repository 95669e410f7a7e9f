"""One call's attempts: what an answer or a failure means, and whether (and when) to try again.

The clients do the I/O of each attempt and hand what happened to an :class:`Exchange`; everything else
is decided here, once for both: 2xx is done; other answers and connection failures become the classified
``UpstreamError`` (through ``clients._answer``, which also logs upstream trouble once per kind per
interval); GET, PUT and DELETE are tried again on a connection failure, 429, 502, 503 and 504, after an
exponential backoff with jitter or the answer's ``Retry-After`` (when that is at most ``max_retry_wait``);
a POST is never tried again. Every call has an overall deadline: no retry starts that could not end
before it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..clients._answer import answer_error, unreachable_error
from ..errors import UpstreamError, retry_after_seconds, upstream_error
from ..upstream import error_body

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..config import LtiaasConfig
    from ._endpoints import Call
    from ._request import Request

__all__ = ["MAX_BODY", "Answer", "AnswerTooLarge", "AnswerTooSlow", "Exchange", "Failure", "RetryPolicy"]

#: The largest answer read (a listing page of a thousand members is well under 1 MiB).
MAX_BODY = 16 << 20
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_BACKOFF_BASE = 0.25  # seconds before the first retry (before jitter), doubling each time


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int
    max_retry_wait: float

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ValueError("max_retries must be a whole number >= 0.")
        wait = self.max_retry_wait
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait < float("inf"):
            raise ValueError("max_retry_wait must be a finite number of seconds >= 0.")

    def backoff(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (0 first): exponential, half of it jittered."""
        ceiling = min(self.max_retry_wait, _BACKOFF_BASE * 2.0**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not a secret

    def deadline(self, timeout: float) -> float:
        """Seconds a whole call may take: every attempt its ``timeout``, and the waits between them."""
        return (self.max_retries + 1) * timeout + self.max_retries * self.max_retry_wait


class AnswerTooLarge(Exception):
    """LTIAAS's answer is over ``MAX_BODY``: not read further."""


class AnswerTooSlow(TimeoutError):
    """LTIAAS's answer was still arriving at the attempt's deadline: not read further."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A 2xx answer's status and body."""

    status: int
    content: bytes


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt: the classified error, and the seconds its answer's ``Retry-After`` asked for."""

    error: UpstreamError
    retry_after: float | None = None


class Exchange:
    """The attempts of one request; see the module documentation."""

    __slots__ = (
        "_config",
        "_policy",
        "_request",
        "_retries",
        "_started",
        "deadline",
        "idempotent",
        "timeout",
    )

    def __init__(self, config: LtiaasConfig, policy: RetryPolicy, call: Call[Any], request: Request) -> None:
        self._config = config
        self._policy = policy
        self._request = request
        self._retries = 0
        self.timeout = config.timeout if call.timeout is None else _check_timeout(call.timeout)
        self.idempotent = call.endpoint.idempotent
        self._started = time.monotonic()
        self.deadline = self._started + policy.deadline(self.timeout)

    def attempt_timeout(self) -> float:
        """Seconds the next attempt may take: its ``timeout``, cut to what is left of the deadline."""
        return max(0.001, min(self.timeout, self.deadline - time.monotonic()))

    def answered(self, status: int, headers: Mapping[str, str], content: bytes) -> Answer | Failure:
        """The answer, or the classified error it stands for."""
        if 200 <= status < 300:
            return Answer(status, content)
        request = self._request
        error = answer_error(
            self._config,
            status,
            content,
            scheme=request.scheme,
            retry_after=headers.get("Retry-After"),
            method=request.method,
            path=request.path,
            elapsed=self._elapsed(),
        )
        if error is None:  # a redirect: never followed (it would carry the credential)
            error = upstream_error(
                status, error_body(content), scheme=request.scheme, description=f"LTIAAS answered {status}."
            )
        return Failure(error, retry_after_seconds(headers.get("Retry-After")))

    def failed(self, failure: BaseException, *, timed_out: bool) -> Failure:
        """The error for an attempt that got no answer (refused, reset, timed out, body too large)."""
        return Failure(
            unreachable_error(
                self._config,
                failure,
                timed_out=timed_out,
                method=self._request.method,
                path=self._request.path,
                elapsed=self._elapsed(),
            )
        )

    def wait_or_raise(self, failure: Failure) -> float:
        """Seconds to wait before trying again after ``failure``; raises its error when it is not tried
        again."""
        wait = self._wait(failure)
        if wait is None:
            raise failure.error
        return wait

    def _wait(self, failure: Failure) -> float | None:
        policy = self._policy
        status = failure.error.upstream_status
        if not self.idempotent or self._retries >= policy.max_retries:
            return None
        if status is not None and status not in RETRY_STATUSES:
            return None
        asked = failure.retry_after
        if asked is not None and asked > policy.max_retry_wait:
            return None  # LTIAAS asks for longer than we may wait: the caller gets RateLimited at once
        wait = asked if asked is not None else policy.backoff(self._retries)
        if time.monotonic() + wait + self.timeout > self.deadline:
            return None  # the retry could not finish before the call's deadline
        self._retries += 1
        return wait

    def _elapsed(self) -> float:
        return time.monotonic() - self._started


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < float("inf"):
        raise ValueError("timeout must be a positive, finite number of seconds.")
    return float(timeout)
