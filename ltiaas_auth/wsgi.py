"""``LtiaasMiddleware``: the WSGI adapter. The decision is :class:`ltiaas_auth._gate.Gate`'s; this module
only reads the environ, calls the app and keeps the current credential set until the response is closed."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import Token
from http import HTTPStatus
from typing import TYPE_CHECKING, cast

from ._gate import DEFAULT_SOURCES, ERROR_KEY, LAUNCH_KEY, Gate, answerable
from ._raised import Holder, Slot, slot_var
from ._rejection import RelaunchPage, render, wants_html
from .context import credential_var
from .credentials import Credential, Launch
from .errors import LtiaasAuthError
from .extract import body_source

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import InputStream, StartResponse, WSGIApplication, WSGIEnvironment

    from .config import LtiaasConfig

__all__ = ["LtiaasMiddleware"]


class LtiaasMiddleware:
    """WSGI middleware that finds the request's ltik and makes its launch current.

    .. code-block:: python

        app.wsgi_app = LtiaasMiddleware(app.wsgi_app, LtiaasConfig.from_env())   # Flask
        application = LtiaasMiddleware(get_wsgi_application(), config)           # Django wsgi.py

    Inside the app, ``current_launch()``, ``auth_headers()`` and ``LtiaasAuth()`` then use the request's
    launch; it is also at ``environ["ltiaas_auth.launch"]``. It is set for exactly one request, until the
    server closes the response (so streamed bodies see it too), and reset even when the app raises; a
    request without an ltik runs with none. Put this middleware outermost among your own.

    The ltik is read, unverified, only to refuse a malformed or expired one before any network call;
    LTIAAS stays the authority (see ``prefetch_idtoken``). Parsed tokens are kept in a bounded LRU of
    ``config.cache_size`` entries, so a known token costs a dict lookup and the expiry check.

    :param app: the WSGI application to wrap.
    :param config: the ``LtiaasConfig`` whose API key, clock, leeway and idtoken cache the launches use.
    :param require: answer 401 ``MISSING_LTIK`` to a request that carries no ltik. With False such a
        request reaches the app with no current launch; an invalid or expired ltik is refused either way.
    :param exempt: ``fnmatch`` globs matched against ``PATH_INFO``, the path below the app's mount point
        (``*`` also matches ``/``). Matching requests, and CORS preflights (``OPTIONS`` with ``Origin`` and
        ``Access-Control-Request-Method``), pass through untouched: no ltik is read, no launch set. Any
        other ``OPTIONS`` request is gated like a ``GET``.
    :param sources: where to look, from ``"authorization"`` (``Bearer <ltik>`` or ``LTIK-AUTH-V1
        Token=<ltik>``; other schemes are ignored), ``"query"`` (``?ltik=``), ``"header"`` (``X-Ltik``),
        and the opt-in ``"form"`` / ``"json"`` (the ``ltik`` field of an urlencoded, multipart or JSON
        body). Every listed source is read; the same token in several places is fine, two different ones
        are refused with 400 ``AMBIGUOUS_LTIK``, so the app can never read a token other than the one
        checked.
    :param max_body_size: bodies larger than this many bytes are not read for the ltik (a request whose
        only ltik could have been in such a body is told so). A body that is read reaches the app
        unchanged, through a fresh ``wsgi.input`` (a chunked body read in full also gets its
        ``CONTENT_LENGTH``).
    :param referrer_policy: the ``Referrer-Policy`` added to every response (rejections included) to a
        request whose ltik came in the URL, so the browser does not leak it to other sites; a policy the
        app sets itself wins. None turns it off. Such responses also get ``Cache-Control: private``
        unless the app set a ``Cache-Control``.
    :param prefetch_idtoken: fetch the launch's idtoken (cached per config) before the app runs (the
        default), so only ltiks LTIAAS accepts get through: LTIAAS refusing it gives 401 ``INVALID_LTIK``,
        LTIAAS unreachable, rate limited or failing gives 502 ``UPSTREAM_UNAVAILABLE`` (with LTIAAS's
        ``Retry-After``), a refused API key 502 and an ERROR log line. False lets the app run on an
        unverified ltik, whose claims are hints, never proof.
    :param error_app: a WSGI app that renders rejections instead of the default ones; it finds the
        ``LtiaasAuthError`` at ``environ["ltiaas_auth.error"]``.
    :param page: ``(error, nonce) -> html``, the page a browser navigation gets instead of
        :func:`ltiaas_auth._rejection.relaunch_page`.

    Rejections are LTIAAS-shaped JSON (``{"status", "error", "details": {"message", "description"}}``)
    with ``Cache-Control: no-store`` and, on 401, ``WWW-Authenticate: Bearer`` (missing ltik) or
    ``Bearer error="invalid_token"``; a browser navigation (``Sec-Fetch-Mode: navigate``, or an
    ``Accept`` preferring ``text/html``) gets a small HTML page with the same status instead. Neither
    contains the token. An ``LtiaasAuthError`` that ltiaas_auth raises while the app runs (a view's
    ``idtoken()``, a client adapter, a role gate) is answered the same way, 401, 403 or 502, when it
    escapes the app before the response starts, or when the framework turned it into its own 500; after
    the response has started it propagates. The middleware never sets a cookie.
    """

    __slots__ = ("_gate", "app", "config", "error_app", "page")

    def __init__(
        self,
        app: WSGIApplication,
        config: LtiaasConfig,
        *,
        require: bool = True,
        exempt: Iterable[str] = (),
        sources: Iterable[str] = DEFAULT_SOURCES,
        max_body_size: int = 65536,
        referrer_policy: str | None = "no-referrer",
        prefetch_idtoken: bool = True,
        error_app: WSGIApplication | None = None,
        page: RelaunchPage | None = None,
    ) -> None:
        self.app = app
        self.config = config
        self.error_app = error_app
        self.page = page
        self._gate = Gate(
            config,
            require=require,
            exempt=exempt,
            sources=sources,
            max_body_size=max_body_size,
            referrer_policy=referrer_policy,
            prefetch_idtoken=prefetch_idtoken,
        )

    def __repr__(self) -> str:
        return f"LtiaasMiddleware({self.app!r}, {self.config!r})"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        gate = self._gate
        launch: Launch | None
        parsed = gate.warm(environ)  # one LRU hit and a look at the clock; None: _decide below decides
        if parsed is not None:
            app, launch, url = self.app, parsed.launch, "HTTP_AUTHORIZATION" not in environ
            environ[LAUNCH_KEY] = launch
        else:
            answer, app, launch, url = self._decide(environ, start_response)
            if answer is not None:
                return answer

        # Set for every request that runs app code, to None when there is no launch, so a credential
        # left in a reused context never shows; reset when the server closes the response. The one object
        # made per request is the held start_response, the request's error slot and the response at once;
        # the slot goes in the context's Holder (set once per context, not per request).
        response = _Response()
        response.start_response = start_response
        response.error = None
        response.phase = _RUNNING
        response.policy = gate.referrer_policy if url else _NO_HEADERS
        response.token = credential_var.set(launch)
        holder = slot_var.get()
        if holder.__class__ is Holder and holder.current is None:
            response.slot_token = None
        else:  # the context's first request, or its holder is busy (a request in progress, nested)
            inside = holder
            holder = Holder()
            token = slot_var.set(holder)
            response.slot_token = None if inside is None else token  # else kept for the next request
        response.holder = holder
        holder.current = response
        try:
            iterable = app(environ, response)
        except BaseException as failure:
            started, response.phase = response.phase, _RETURNED
            try:
                if not answerable(failure):
                    raise
                # After the app's own start_response, the server needs exc_info to replace it; if it has
                # already sent those headers, it raises the app's error again here.
                exc_info = sys.exc_info() if started == _STARTED else None
                return self._reject(environ, response.with_url_headers, failure, exc_info)
            finally:
                response.reset()
        if response.phase == _REPLACED:  # the framework answered our error with its own 500
            response.phase = _RETURNED
            try:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()
                error = cast("LtiaasAuthError", response.error)  # _REPLACED only once one was recorded
                return self._reject(environ, response.with_url_headers, error)
            finally:
                response.reset()
        response.phase = _RETURNED
        response.iterable = iterable
        return response

    def _decide(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> tuple[Iterable[bytes] | None, WSGIApplication, Launch | None, bool]:
        """Every request the warm path does not take: ``(answer, app, launch, url_ltik)``, where an
        ``answer`` (a rejection already started) ends the request; otherwise ``app`` runs with ``launch``
        (None: no ltik, or an exempt path or CORS preflight) and ``url_ltik`` says whether the URL carried
        the ltik (the response then gets ``Referrer-Policy`` and ``Cache-Control: private``)."""
        gate = self._gate
        method = environ.get("REQUEST_METHOD", "")
        if gate.passes(method, environ.get("PATH_INFO", ""), method == "OPTIONS" and _is_preflight(environ)):
            return None, self.app, None, False
        authorization = environ.get("HTTP_AUTHORIZATION")
        header = environ.get("HTTP_X_LTIK")
        body = body_kind = None
        too_large = False
        if gate.body_sources:
            body_kind = body_source(environ.get("CONTENT_TYPE", ""), gate.body_sources)
            if body_kind is not None:
                body, too_large = _read_body(environ, gate.max_body_size)
        parsed, error, url_ltik = gate.find(
            (authorization,) if authorization else (),
            environ.get("QUERY_STRING", ""),
            (header,) if header else (),
            body,
            body_kind,
            too_large,
        )
        if parsed is not None:
            error = gate.confirm(parsed)  # nothing to do once the entry says it was confirmed
        if url_ltik:
            start_response = _with_url_ltik_headers(start_response, gate.referrer_policy)
        if error is not None:
            if self.error_app is None:
                return self._reject(environ, start_response, error), self.app, None, url_ltik
            environ[ERROR_KEY] = error
            return None, self.error_app, None, url_ltik
        launch = parsed.launch if parsed is not None else None
        if launch is not None:
            environ[LAUNCH_KEY] = launch
        return None, self.app, launch, url_ltik

    def _reject(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        error: LtiaasAuthError,
        exc_info: OptExcInfo | None = None,
    ) -> Iterable[bytes]:
        if self.error_app is not None and environ.get(ERROR_KEY) is not error:
            environ[ERROR_KEY] = error
            if exc_info is not None:  # the app had started a response: replacing it needs exc_info
                start_response = _with_exc_info(start_response, exc_info)
            return self.error_app(environ, start_response)
        html = wants_html(environ.get("HTTP_ACCEPT"), environ.get("HTTP_SEC_FETCH_MODE"))
        status, headers, content = render(error, html=html, page=self.page)
        line = f"{status} {HTTPStatus(status).phrase}"
        if exc_info is None:
            start_response(line, headers)
        else:
            start_response(line, headers, exc_info)
        return [content]


def _with_exc_info(start_response: StartResponse, exc_info: OptExcInfo) -> StartResponse:
    def start(
        status: str, headers: list[tuple[str, str]], given: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        return start_response(status, headers, given or exc_info)

    return start


def _is_preflight(environ: WSGIEnvironment) -> bool:
    return bool(environ.get("HTTP_ORIGIN")) and bool(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"))


def _discard(data: bytes) -> None:
    """The ``write`` of a 500 that is being replaced: its bytes go nowhere."""


# The app's phase, in its request's _Response: running (start_response not called yet), started, its 500
# replaced (held back: the middleware answers the recorded error instead), returned.
_RUNNING, _STARTED, _REPLACED, _RETURNED = 0, 1, 2, 3

#: ``_Response.policy`` of a request whose URL carried no ltik: no header to add.
_NO_HEADERS = ""


class _Response:
    """One request's state, in one object (made without ``__init__``: the adapter sets every slot).

    It is the ``start_response`` the app gets: while the app is being called, a 500 started after one of
    our errors was recorded for this request is held back, and the middleware answers the error; for a
    request whose URL carried the ltik it adds ``Referrer-Policy`` and ``Cache-Control: private``.
    It is the request's error slot (``_raised``: ``slot[0]`` is the error recorded). And it is the
    response the server iterates, with the credential reset in ``close()`` (as werkzeug's
    ``ClosingIterator``), because the server iterates a streamed body after the app has returned.

    The reset happens once, after the app's own ``close()``, even if that raises or ``close()`` is
    called twice. Servers call ``close()`` on the thread and context that called the app; should one
    close from another ``Context``, ``reset`` refuses (ValueError) and there is nothing to undo there,
    while the original context is overwritten at the start of its next request anyway.
    """

    __slots__ = (
        "error",
        "holder",
        "iterable",
        "phase",
        "policy",
        "slot_token",
        "start_response",
        "token",
    )

    error: LtiaasAuthError | None
    #: The slot holder this request is the current slot of, until it ends.
    holder: Holder
    iterable: Iterable[bytes]
    phase: int
    #: The ``Referrer-Policy`` to add (None: only ``Cache-Control``), or ``_NO_HEADERS``.
    policy: str | None
    #: Set when this request put a holder of its own over another slot (it resets it); None otherwise.
    slot_token: Token[Slot | None] | None
    start_response: StartResponse
    token: Token[Credential | None] | None

    def __getitem__(self, index: int) -> LtiaasAuthError | None:
        return self.error

    def __setitem__(self, index: int, error: LtiaasAuthError) -> None:
        self.error = error

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        phase = self.phase
        if phase < _RETURNED and self.error is not None and status[:3] == "500":
            self.phase = _REPLACED
            return _discard
        if phase == _RUNNING:
            self.phase = _STARTED
        if self.policy is not _NO_HEADERS:
            headers = _url_ltik_headers(headers, self.policy)
        if exc_info is None:
            return self.start_response(status, headers)
        return self.start_response(status, headers, exc_info)

    def with_url_headers(
        self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        """The server's ``start_response`` for the middleware's own answer: the URL headers, nothing held."""
        if self.policy is not _NO_HEADERS:
            headers = _url_ltik_headers(headers, self.policy)
        if exc_info is None:
            return self.start_response(status, headers)
        return self.start_response(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.iterable)

    def close(self) -> None:
        token, self.token = self.token, None
        if token is None:
            return
        try:
            close = getattr(self.iterable, "close", None)
            if close is not None:
                close()
        finally:  # reset(), spelled out: this is on every request's path
            self.holder.current = None
            if self.slot_token is not None:
                try:  # noqa: SIM105 - contextlib.suppress costs a third of this middleware's overhead
                    slot_var.reset(self.slot_token)
                except ValueError:
                    pass
            try:  # noqa: SIM105
                credential_var.reset(token)
            except ValueError:
                pass

    def reset(self) -> None:
        """Undo what the request set: the credential, and this request as its context's current slot."""
        token, self.token = self.token, None
        if token is None:
            return
        self.holder.current = None
        if self.slot_token is not None:
            try:  # noqa: SIM105
                slot_var.reset(self.slot_token)
            except ValueError:
                pass
        try:  # noqa: SIM105
            credential_var.reset(token)
        except ValueError:
            pass


def _url_ltik_headers(headers: list[tuple[str, str]], policy: str | None) -> list[tuple[str, str]]:
    """``headers`` of a response to a request whose ltik came in the URL: with ``Referrer-Policy``
    (unless ``policy`` is None) and ``Cache-Control: private`` (RFC 6750 §2.3), each unless the response
    sets its own."""
    referrer = policy is None
    cache = False
    for name, _ in headers:
        lowered = name.lower()
        if lowered == "cache-control":
            cache = True
        elif lowered == "referrer-policy":
            referrer = True
    if cache and referrer:
        return headers
    extra = [] if referrer or policy is None else [("Referrer-Policy", policy)]
    if not cache:
        extra.append(("Cache-Control", "private"))
    return [*headers, *extra]


def _with_url_ltik_headers(start_response: StartResponse, policy: str | None) -> StartResponse:
    """``start_response`` adding :func:`_url_ltik_headers`, for a rejection decided before the app ran."""

    def start(
        status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        headers = _url_ltik_headers(headers, policy)
        if exc_info is None:
            return start_response(status, headers)
        return start_response(status, headers, exc_info)

    return start


def _read_body(environ: WSGIEnvironment, limit: int) -> tuple[bytes | None, bool]:
    """``(body, too_large)``: the whole body if it is at most ``limit`` bytes, else None (and whether
    that is because it is larger); either way ``wsgi.input`` is left (or replaced) so that the app reads
    the body byte for byte."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return None, False
    length = environ.get("CONTENT_LENGTH", "")
    if length:
        try:
            size = int(length)
        except ValueError:
            return None, False
        if not 0 <= size <= limit:
            return None, size > limit
        body = _read(stream, size)
        environ["wsgi.input"] = io.BytesIO(body)
        if len(body) != size:  # the client sent less than it announced
            environ["CONTENT_LENGTH"] = str(len(body))
        return body, False
    if not environ.get("wsgi.input_terminated"):
        return None, False  # no length and no end marker: PEP 3333 says there is no body to read
    head = _read(stream, limit + 1)
    if len(head) > limit:
        environ["wsgi.input"] = _PrefixedInput(head, stream)
        return None, True
    environ["wsgi.input"] = io.BytesIO(head)
    environ["CONTENT_LENGTH"] = str(len(head))
    return head, False


def _read(stream: InputStream, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the stream (a single ``read`` may return less)."""
    chunks: list[bytes] = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class _PrefixedInput:
    """``wsgi.input`` for a body too large to keep: the bytes already read, then the rest of the
    server's stream, so the app still reads it whole."""

    __slots__ = ("_head", "_rest")

    def __init__(self, head: bytes, rest: InputStream) -> None:
        self._head = io.BytesIO(head)
        self._rest = rest

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            return self._head.read() + self._rest.read()
        data = self._head.read(size)
        if len(data) < size:
            data += _read(self._rest, size - len(data))
        return data

    def readline(self, size: int | None = -1, /) -> bytes:
        limit = -1 if size is None or size < 0 else size
        line = self._head.readline(limit)
        if line.endswith(b"\n") or len(line) == limit:
            return line
        return line + (self._rest.readline() if limit < 0 else self._rest.readline(limit - len(line)))

    def readlines(self, hint: int = -1, /) -> list[bytes]:
        """All lines; PEP 3333 lets the hint be ignored."""
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")
