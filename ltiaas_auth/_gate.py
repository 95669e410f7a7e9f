"""What the WSGI and ASGI middleware share: their options, the decision per request, the rejections.

The adapters only do I/O (read headers and bodies, call the app, send the answer); every rule lives here
or in :mod:`ltiaas_auth.extract`, so both answer a request the same way.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, NamedTuple

from .credentials import Launch
from .errors import ExpiredLtik, InvalidLtik, LtiaasAuthError, MissingLtik, UpstreamError
from .extract import BODY_SOURCES, SOURCES, find_ltik, ltiks_in_query
from .ltik import parse_ltik

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = ["DEFAULT_SOURCES", "ERROR_KEY", "LAUNCH_KEY", "Gate", "Rejection", "prefetch_failure", "render"]

DEFAULT_SOURCES = ("authorization", "query", "header")

#: Where the middleware puts the current launch, and the error for ``error_app``, in environ / scope.
LAUNCH_KEY = "ltiaas_auth.launch"
ERROR_KEY = "ltiaas_auth.error"

_POLICY = re.compile(r"[A-Za-z-]+(?:\s*,\s*[A-Za-z-]+)*")
_MISSING_CHALLENGE = "Bearer"
_INVALID_CHALLENGE = 'Bearer error="invalid_token"'


class Rejection(NamedTuple):
    """A ready-to-send error response: status, headers (as ``str``), JSON body. ``Referrer-Policy`` is
    not here: the adapters add it to every response of a request that needs it, this one included."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Gate:
    """The validated options of one middleware instance and the per-request decision they imply.

    Parsed launches are kept in a bounded LRU (``functools.lru_cache``: C-implemented, thread-safe, and
    it never caches a failure) of ``config.cache_size`` entries keyed by the raw token, so a warm request
    costs one dict lookup plus the expiry check.
    """

    __slots__ = (
        "body_sources",
        "clock",
        "config",
        "exempt",
        "leeway",
        "max_body_size",
        "parse",
        "prefetch_idtoken",
        "read_authorization",
        "read_header",
        "read_query",
        "referrer_policy",
        "require",
    )

    def __init__(
        self,
        config: LtiaasConfig,
        *,
        require: bool,
        exempt: Iterable[str],
        sources: Iterable[str],
        max_body_size: int,
        referrer_policy: str | None,
        prefetch_idtoken: bool,
    ) -> None:
        if isinstance(sources, str) or isinstance(exempt, str):
            raise ValueError("sources and exempt take a sequence of strings, not a single string.")
        names = frozenset(sources)
        unknown = sorted(names.difference(SOURCES))
        if unknown or not names:
            raise ValueError(f"sources must name one or more of {', '.join(SOURCES)}; got {unknown!r}.")
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0:
            raise ValueError("max_body_size must be a non-negative integer (bytes).")
        if referrer_policy is not None and not (
            isinstance(referrer_policy, str) and _POLICY.fullmatch(referrer_policy)
        ):
            raise ValueError("referrer_policy must be a Referrer-Policy value ('no-referrer'…) or None.")
        globs = tuple(exempt)
        if not all(isinstance(glob, str) for glob in globs):
            raise ValueError("exempt must be a sequence of fnmatch globs (strings).")
        self.config = config
        self.require = bool(require)
        self.prefetch_idtoken = bool(prefetch_idtoken)
        self.max_body_size = max_body_size
        self.referrer_policy = referrer_policy
        self.read_authorization = "authorization" in names
        self.read_query = "query" in names
        self.read_header = "header" in names
        self.body_sources = BODY_SOURCES.intersection(names)
        #: ``match(path)`` of one regex for all globs, or None without any.
        self.exempt: Callable[[str], re.Match[str] | None] | None = (
            re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs)).match if globs else None
        )
        self.clock = config.clock
        self.leeway = config.leeway
        self.parse = functools.lru_cache(maxsize=config.cache_size)(self._new_launch)

    def passes(self, method: str, path: str) -> bool:
        """Whether the request goes through untouched: ``OPTIONS`` (CORS preflights carry no ltik) and
        exempt paths."""
        return method == "OPTIONS" or (self.exempt is not None and self.exempt(path) is not None)

    def decide(
        self,
        authorization: Collection[str],
        query: str,
        header: Collection[str],
        body: bytes | None = None,
        body_kind: str | None = None,
    ) -> tuple[Launch | None, LtiaasAuthError | None, str | None]:
        """``(launch, error, referrer_policy)`` for a request: its launch (None when it has none and none
        is required) or the error to answer with, and the ``Referrer-Policy`` to add to its response
        (set when the URL carried an ltik, even a refused one)."""
        url_ltiks: Sequence[str] = ltiks_in_query(query) if query and self.read_query else ()
        referrer_policy = self.referrer_policy if url_ltiks else None
        if not self.read_authorization:
            authorization = ()
        if not self.read_header:
            header = ()
        try:
            raw = (
                find_ltik(authorization, url_ltiks, header, body, body_kind)
                if authorization or url_ltiks or header or body
                else None
            )
            if raw is None:
                if self.require:
                    raise MissingLtik()
                return None, None, referrer_policy
            launch, deadline = self.parse(raw)
            if self.clock() > deadline:  # checked on every request: a cached token keeps ageing
                raise ExpiredLtik()
        except LtiaasAuthError as error:  # MissingLtik, InvalidLtik, ExpiredLtik, AmbiguousLtik
            return None, error, referrer_policy
        return launch, None, referrer_policy

    def _new_launch(self, raw: str) -> tuple[Launch, float]:
        """The launch and the POSIX time after which it is refused: ``Ltik.expired``'s rule (expiry +
        leeway; never without a known expiry), computed once per token."""
        ltik = parse_ltik(raw, max_age=self.config.ltik_max_age, check_expiry=False)
        deadline = ltik.expiry + self.leeway
        return Launch(self.config, ltik), deadline


def prefetch_failure(error: LtiaasAuthError) -> LtiaasAuthError:
    """What to answer when prefetching the idtoken failed: LTIAAS refusing the ltik is the client's
    problem (401 ``INVALID_LTIK``); anything else upstream (unreachable, 5xx, 429…) is ours (502
    ``UPSTREAM_UNAVAILABLE``), with LTIAAS's body dropped so none of it reaches the client. Other errors
    (the ltik expiring meanwhile) stand as they are."""
    if not isinstance(error, UpstreamError):
        return error
    if error.upstream_status == 401:
        return InvalidLtik("LTIAAS refused the ltik.")
    return UpstreamError("LTIAAS could not provide the launch.", upstream_status=error.upstream_status)


def render(error: LtiaasAuthError) -> Rejection:
    """The default rejection: LTIAAS's error shape as JSON, never cached, with the Bearer challenge.

    The body holds only the error's code and description, which never contain a token.
    """
    body = json.dumps(error.to_body(), separators=(",", ":")).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    if error.status == HTTPStatus.UNAUTHORIZED:
        challenge = _MISSING_CHALLENGE if isinstance(error, MissingLtik) else _INVALID_CHALLENGE
        headers.append(("WWW-Authenticate", challenge))
    return Rejection(error.status, headers, body)
