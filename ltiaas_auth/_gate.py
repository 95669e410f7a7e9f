"""What the WSGI and ASGI middleware share: their options, the decision per request, the rejections.

The adapters only do I/O (read headers and bodies, call the app, send the answer); every rule lives here
or in :mod:`ltiaas_auth.extract`, so both answer a request the same way.
"""

from __future__ import annotations

import fnmatch
import math
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from ._lru import SizedCache, footprint
from ._rejection import Rejection, render
from .credentials import Launch
from .errors import ExpiredLtik, LtiaasAuthError, MissingLtik
from .extract import BODY_SOURCES, SOURCES, find_ltik, ltiks_in_query
from .ltik import parse_ltik

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = [
    "DEFAULT_SOURCES",
    "ERROR_KEY",
    "LAUNCH_KEY",
    "Gate",
    "Parsed",
    "Rejection",
    "answerable",
    "below_mount",
    "render",
]

DEFAULT_SOURCES = ("authorization", "query", "header")

#: Where the middleware puts the current launch, and the error for ``error_app``, in environ / scope.
LAUNCH_KEY = "ltiaas_auth.launch"
ERROR_KEY = "ltiaas_auth.error"

_POLICY = re.compile(r"[A-Za-z-]+(?:\s*,\s*[A-Za-z-]+)*")


class Gate:
    """The validated options of one middleware instance and the per-request decision they imply.

    Parsed launches are kept in a bounded LRU (it never caches a failure) keyed by the raw token, each
    as a :class:`Parsed` that also holds what was decided for it once: its expiry deadline, and whether
    LTIAAS confirmed it (``prefetch_idtoken``). A warm request therefore costs one LRU hit (:meth:`cached`)
    and one comparison of the clock with :attr:`Parsed.ready`.
    """

    __slots__ = (
        "body_sources",
        "cached",
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
        "referrer_policy_bytes",
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
        #: The same as ASGI header bytes.
        self.referrer_policy_bytes = (
            referrer_policy.encode("latin-1") if referrer_policy is not None else None
        )
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
        # Bounded in entries and, with the config's idtoken cache, in bytes (``cache_max_bytes``).
        parsed: SizedCache[str, Parsed] = SizedCache(config._idtokens.budget, config.cache_size)
        #: ``parse(raw) -> Parsed``: the token's entry, parsed on first sight (``InvalidLtik`` is never kept).
        self.parse = parsed.memoize(self._new_launch, _launch_bytes)
        #: ``cached(raw) -> Parsed | None``: the entry of a token already parsed, or None; nothing is parsed.
        self.cached = parsed.get

    def passes(self, method: str, path: str, preflight: bool = False) -> bool:
        """Whether the request goes through untouched: a CORS preflight (``OPTIONS`` with ``Origin`` and
        ``Access-Control-Request-Method``: the caller says so with ``preflight``), or an exempt ``path``
        (below the mount point: see :func:`below_mount`). Any other ``OPTIONS`` is gated like a ``GET``."""
        return (preflight and method == "OPTIONS") or (
            self.exempt is not None and self.exempt(path) is not None
        )

    def decide(
        self,
        authorization: Collection[str],
        query: str,
        header: Collection[str],
        body: bytes | None = None,
        body_kind: str | None = None,
        *,
        body_too_large: bool = False,
    ) -> tuple[Launch | None, LtiaasAuthError | None, str | None]:
        """``(launch, error, referrer_policy)``: :meth:`evaluate`, with the ``Referrer-Policy`` to add
        to the response (set when the URL carried an ltik, even a refused one) as the third item."""
        launch, error, in_url = self.evaluate(
            authorization, query, header, body, body_kind, body_too_large=body_too_large
        )
        return launch, error, self.referrer_policy if in_url else None

    def warm(self, environ: Mapping[str, Any], path: str | None = None) -> Parsed | None:
        """The warm path, for a WSGI environ or Django's ``request.META``: the entry of a token already
        parsed (and confirmed, with prefetch) when the request carries it in a plain ``Bearer`` or a
        plain ``?ltik=`` and nowhere else, on a path the gate does not let through untouched; else None,
        and the request takes :meth:`find`, which applies every rule. It costs one LRU hit and one look
        at the clock. The URL carried the ltik when the request has no ``Authorization``. ``path``: the
        path below the mount point, when it is not ``PATH_INFO`` (Django's ``request.path_info``).

        The LRU only ever holds compact JWSs, so a hit on what follows ``Bearer `` (or ``ltik=``) means
        the value is exactly that token, as ``extract.from_authorization`` (or ``from_query``) would
        read it: no space, comma, "&", "%" or "+"."""
        parsed = None
        authorization = environ.get("HTTP_AUTHORIZATION")
        query = environ.get("QUERY_STRING")
        # extract.ltiks_in_query's cheap test: otherwise no name in the query string decodes to "ltik"
        if query and self.read_query and ("ltik" in query or "%" in query):
            if authorization is None and query[:5] == "ltik=":
                parsed = self.cached(query[5:])
        elif authorization is not None and authorization[:7] == "Bearer " and self.read_authorization:
            parsed = self.cached(authorization[7:])
        if parsed is None or (
            self.clock() > parsed.ready  # expired, or not confirmed yet: find says which
            or environ.get("REQUEST_METHOD") == "OPTIONS"
            or (self.read_header and "HTTP_X_LTIK" in environ)
            or (self.body_sources and environ.get("CONTENT_TYPE"))
            or (
                self.exempt is not None
                and self.exempt(environ.get("PATH_INFO", "") if path is None else path) is not None
            )
        ):
            return None
        return parsed

    def evaluate(
        self,
        authorization: Collection[str],
        query: str,
        header: Collection[str],
        body: bytes | None = None,
        body_kind: str | None = None,
        body_too_large: bool = False,
    ) -> tuple[Launch | None, LtiaasAuthError | None, bool]:
        """``(launch, error, in_url)`` for a request: its launch (None when it has none and none is
        required) or the error to answer with, and whether its URL carried an ltik (its response then
        gets ``Referrer-Policy`` and ``Cache-Control: private``, even when it is a rejection).
        ``body_too_large``: the body could have held the ltik but was over ``max_body_size``, so unread;
        a request with no ltik elsewhere is then told so."""
        parsed, error, in_url = self.find(authorization, query, header, body, body_kind, body_too_large)
        return (parsed.launch if parsed is not None else None), error, in_url

    def find(
        self,
        authorization: Collection[str],
        query: str,
        header: Collection[str],
        body: bytes | None = None,
        body_kind: str | None = None,
        body_too_large: bool = False,
    ) -> tuple[Parsed | None, LtiaasAuthError | None, bool]:
        """:meth:`evaluate`, with the request's :class:`Parsed` entry instead of its launch."""
        url_ltiks: Sequence[str] = ltiks_in_query(query) if query and self.read_query else ()
        in_url = bool(url_ltiks)
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
                if not self.require:
                    return None, None, in_url
                if body_too_large:
                    raise MissingLtik(
                        f"The request body is over {self.max_body_size} bytes, too large to read for its "
                        "ltik; send the ltik in the Authorization header (Bearer) instead."
                    )
                raise MissingLtik()
            parsed = self.parse(raw)
            if self.clock() > parsed.deadline:  # checked on every request: a cached token keeps ageing
                raise ExpiredLtik()
        except LtiaasAuthError as error:  # MissingLtik, InvalidLtik, ExpiredLtik, AmbiguousLtik
            return None, error, in_url
        return parsed, None, in_url

    def confirm(self, parsed: Parsed) -> LtiaasAuthError | None:
        """Confirm a launch that :meth:`find` accepted with LTIAAS (its idtoken, fetched once and cached),
        unless that was done already: None when accepted, else the error to answer with (``LtikRefused``:
        401; any other upstream failure: 502). Once accepted, the entry says so itself (``ready``), so
        later requests for the token ask nothing more."""
        if not self.prefetch_idtoken or parsed.ready >= parsed.deadline:
            return None
        try:
            parsed.launch.idtoken()
        except LtiaasAuthError as error:
            return error
        parsed.ready = parsed.deadline
        return None

    async def aconfirm(self, parsed: Parsed) -> LtiaasAuthError | None:
        """:meth:`confirm` for asyncio and trio."""
        if not self.prefetch_idtoken or parsed.ready >= parsed.deadline:
            return None
        try:
            await parsed.launch.aidtoken()
        except LtiaasAuthError as error:
            return error
        parsed.ready = parsed.deadline
        return None

    def prefetch(self, launch: Launch) -> LtiaasAuthError | None:
        """:meth:`confirm` for a launch that :meth:`evaluate` returned (confirmed with LTIAAS, whatever
        ``prefetch_idtoken`` says)."""
        parsed = self._entry_of(launch)
        if parsed is not None and parsed.ready >= parsed.deadline:
            return None
        try:
            launch.idtoken()
        except LtiaasAuthError as error:
            return error
        if parsed is not None:
            parsed.ready = parsed.deadline
        return None

    async def aprefetch(self, launch: Launch) -> LtiaasAuthError | None:
        """:meth:`prefetch` for asyncio and trio."""
        parsed = self._entry_of(launch)
        if parsed is not None and parsed.ready >= parsed.deadline:
            return None
        try:
            await launch.aidtoken()
        except LtiaasAuthError as error:
            return error
        if parsed is not None:
            parsed.ready = parsed.deadline
        return None

    def _entry_of(self, launch: Launch) -> Parsed | None:
        """The entry that holds ``launch``, if it is still cached (None once evicted)."""
        parsed = self.cached(launch.ltik.raw)
        return parsed if parsed is not None and parsed.launch is launch else None

    def _new_launch(self, raw: str) -> Parsed:
        """The token's entry: its launch and the POSIX time after which it is refused (``Ltik.expired``'s
        rule: expiry + leeway; never without a known expiry), computed once per token."""
        ltik = parse_ltik(raw, max_age=self.config.ltik_max_age, check_expiry=False)
        deadline = ltik.expiry + self.leeway
        return Parsed(Launch(self.config, ltik), deadline, -math.inf if self.prefetch_idtoken else deadline)


class Parsed:
    """A token seen by a gate, and what was decided for it once.

    ``deadline``: the POSIX time after which the token is refused as expired. ``ready``: the time until
    which a request carrying it needs nothing more than the comparison ``clock() <= ready``: the deadline
    itself once LTIAAS confirmed the launch (at once without ``prefetch_idtoken``), minus infinity until
    then. A cached token keeps ageing, so the clock is read on every request.
    """

    __slots__ = ("deadline", "launch", "ready")

    def __init__(self, launch: Launch, deadline: float, ready: float) -> None:
        self.launch = launch
        self.deadline = deadline
        self.ready = ready


def answerable(error: BaseException) -> TypeGuard[LtiaasAuthError]:
    """Whether the middleware answers ``error``, raised during a request, like a rejection
    (:meth:`LtiaasAuthError.answered_at_edge`); anything else stays the server's."""
    return isinstance(error, LtiaasAuthError) and error.answered_at_edge()


def _launch_bytes(parsed: Parsed) -> int:
    """What a parsed launch holds: its token, its claims as parsed, and about 1 KiB of objects around them."""
    ltik = parsed.launch.ltik
    return sys.getsizeof(ltik.raw) + footprint(ltik.claims) + 1024


def below_mount(path: str, root_path: str) -> str:
    """``path`` below the app's mount point ``root_path``: servers differ on whether ASGI's
    ``scope["path"]`` includes ``root_path`` (uvicorn does, hypercorn does not), so it is stripped when
    it is there, at a segment boundary."""
    if root_path and path.startswith(root_path):
        rest = path[len(root_path) :]
        if not rest or rest[0] == "/":
            return rest or "/"
    return path
