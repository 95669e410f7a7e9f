"""``LtiaasMiddleware``: the WSGI adapter. The decision is :class:`ltiaas_auth._gate.Gate`'s; this module
only reads the environ, calls the app and keeps the current credential set until the response is closed."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from contextvars import Token
from http import HTTPStatus
from typing import TYPE_CHECKING

from ._gate import DEFAULT_SOURCES, ERROR_KEY, LAUNCH_KEY, Gate, prefetch_failure, render
from .context import credential_var
from .credentials import Credential
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
    :param exempt: ``fnmatch`` globs matched against ``PATH_INFO`` (``*`` also matches ``/``). Matching
        requests, and every ``OPTIONS`` request, pass through untouched: no ltik is read, no launch set.
    :param sources: where to look, from ``"authorization"`` (``Bearer <ltik>`` or ``LTIK-AUTH-V1
        Token=<ltik>``; other schemes are ignored), ``"query"`` (``?ltik=``), ``"header"`` (``X-Ltik``),
        and the opt-in ``"form"`` / ``"json"`` (the ``ltik`` field of an urlencoded or JSON body). Every
        listed source is read; the same token in several places is fine, two different ones are refused
        with 400 ``AMBIGUOUS_LTIK``, so the app can never read a token other than the one checked.
    :param max_body_size: bodies larger than this many bytes are not read for the ltik. A body that is
        read reaches the app unchanged, through a fresh ``wsgi.input`` (a chunked body read in full also
        gets its ``CONTENT_LENGTH``).
    :param referrer_policy: the ``Referrer-Policy`` added to every response (rejections included) to a
        request whose ltik came in the URL, so the browser does not leak it to other sites; a policy the
        app sets itself wins. None turns it off.
    :param prefetch_idtoken: fetch the launch's idtoken (cached per config) before the app runs, so only
        ltiks LTIAAS accepts get through: LTIAAS refusing it gives 401 ``INVALID_LTIK``, LTIAAS
        unreachable or failing gives 502 ``UPSTREAM_UNAVAILABLE``.
    :param error_app: a WSGI app that renders rejections instead of the default JSON; it finds the
        ``LtiaasAuthError`` at ``environ["ltiaas_auth.error"]``.

    Rejections are LTIAAS-shaped JSON (``{"status", "error", "details": {"message", "description"}}``)
    with ``Cache-Control: no-store`` and, on 401, ``WWW-Authenticate: Bearer`` (missing ltik) or
    ``Bearer error="invalid_token"``; they never contain the token. The middleware never sets a cookie.
    """

    __slots__ = ("_gate", "app", "config", "error_app")

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
        prefetch_idtoken: bool = False,
        error_app: WSGIApplication | None = None,
    ) -> None:
        self.app = app
        self.config = config
        self.error_app = error_app
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
        app, launch, gate = self.app, None, self._gate
        if not gate.passes(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")):
            authorization = environ.get("HTTP_AUTHORIZATION")
            header = environ.get("HTTP_X_LTIK")
            body = body_kind = None
            if gate.body_sources:
                body_kind = body_source(environ.get("CONTENT_TYPE", ""), gate.body_sources)
                if body_kind is not None:
                    body = _read_body(environ, gate.max_body_size)
            launch, error, referrer_policy = gate.decide(
                (authorization,) if authorization else (),
                environ.get("QUERY_STRING", ""),
                (header,) if header else (),
                body,
                body_kind,
            )
            if launch is not None and gate.prefetch_idtoken:
                try:
                    launch.idtoken()
                except LtiaasAuthError as failure:
                    launch, error = None, prefetch_failure(failure)
            if referrer_policy is not None:
                start_response = _with_referrer_policy(start_response, referrer_policy)
            if error is not None:
                if self.error_app is None:
                    status, headers, content = render(error)
                    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
                    return [content]
                app = self.error_app
                environ[ERROR_KEY] = error
            elif launch is not None:
                environ[LAUNCH_KEY] = launch

        # Set for every request that runs app code, to None when there is no launch, so a credential
        # left in a reused context never shows; reset when the server closes the response.
        token = credential_var.set(launch)
        try:
            iterable = app(environ, start_response)
        except BaseException:
            credential_var.reset(token)
            raise
        return _ClosingResponse(iterable, token)


class _ClosingResponse:
    """The app's response, with the credential reset in ``close()`` (as werkzeug's ``ClosingIterator``),
    because the server iterates a streamed body after the app has returned.

    The reset happens once, after the app's own ``close()``, even if that raises or ``close()`` is
    called twice. Servers call ``close()`` on the thread and context that called the app; should one
    close from another ``Context``, ``reset`` refuses (ValueError) and there is nothing to undo there,
    while the original context is overwritten at the start of its next request anyway.
    """

    __slots__ = ("_iterable", "_token")

    def __init__(self, iterable: Iterable[bytes], token: Token[Credential | None]) -> None:
        self._iterable = iterable
        self._token: Token[Credential | None] | None = token

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._iterable)

    def close(self) -> None:
        token, self._token = self._token, None
        if token is None:
            return
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            try:  # noqa: SIM105 - contextlib.suppress costs a third of this middleware's overhead
                credential_var.reset(token)
            except ValueError:
                pass


def _with_referrer_policy(start_response: StartResponse, policy: str) -> StartResponse:
    def start(
        status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        for name, _ in headers:
            if name.lower() == "referrer-policy":
                break
        else:
            headers = [*headers, ("Referrer-Policy", policy)]
        if exc_info is None:
            return start_response(status, headers)
        return start_response(status, headers, exc_info)

    return start


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """The whole body if it is at most ``limit`` bytes, else None; either way ``wsgi.input`` is left
    (or replaced) so that the app reads the body byte for byte."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return None
    length = environ.get("CONTENT_LENGTH", "")
    if length:
        try:
            size = int(length)
        except ValueError:
            return None
        if not 0 <= size <= limit:
            return None
        body = _read(stream, size)
        environ["wsgi.input"] = io.BytesIO(body)
        if len(body) != size:  # the client sent less than it announced
            environ["CONTENT_LENGTH"] = str(len(body))
        return body
    if not environ.get("wsgi.input_terminated"):
        return None  # no length and no end marker: PEP 3333 says there is no body to read
    head = _read(stream, limit + 1)
    if len(head) > limit:
        environ["wsgi.input"] = _PrefixedInput(head, stream)
        return None
    environ["wsgi.input"] = io.BytesIO(head)
    environ["CONTENT_LENGTH"] = str(len(head))
    return head


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
