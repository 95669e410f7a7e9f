"""``LtiaasASGIMiddleware``: the pure ASGI adapter. The decision is :class:`ltiaas_auth._gate.Gate`'s;
this module only reads the scope (and, for body sources, the body), calls the app and sends rejections."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from ._gate import DEFAULT_SOURCES, ERROR_KEY, LAUNCH_KEY, Gate, answerable, below_mount
from ._raised import Holder, slot_var
from ._rejection import RelaunchPage, render, wants_html
from .context import credential_var
from .credentials import Launch
from .errors import LtiaasAuthError
from .extract import body_source

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = ["ASGIApp", "LtiaasASGIMiddleware", "Message", "Receive", "Scope", "Send"]

# The ASGI 3 types, structurally the same as Starlette's, so either side accepts the other's apps.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The request headers the middleware reads (ASGI header names are lowercase bytes).
_READ_HEADERS = frozenset({b"authorization", b"x-ltik", b"content-type", b"content-length"})

# The response's phase, in its request's slot: not started yet, started by the app, replaced by ours.
_WAITING, _STARTED, _REPLACED = 0, 1, 2

#: Close code for a refused websocket (policy violation); servers answer the handshake with 403.
WS_POLICY_VIOLATION = 1008


class LtiaasASGIMiddleware:
    """ASGI middleware that finds the request's ltik and makes its launch current.

    .. code-block:: python

        app.add_middleware(LtiaasASGIMiddleware, config=LtiaasConfig.from_env())   # Starlette, FastAPI
        application = LtiaasASGIMiddleware(get_asgi_application(), config=config)   # Django asgi.py

    The options, the rules and the rejections are those of :class:`ltiaas_auth.LtiaasMiddleware` (see
    its documentation): ``require``, ``exempt`` (globs matched against ``scope["path"]`` below the mount
    point: ``root_path`` is stripped when the server included it, as uvicorn does and hypercorn does not),
    ``sources``, ``max_body_size``, ``referrer_policy`` (HTTP responses only, with ``Cache-Control:
    private``), ``prefetch_idtoken`` (on by default: ``await launch.aidtoken()`` before the app runs),
    ``error_app`` (an ASGI app, finding the error at ``scope["ltiaas_auth.error"]``) and ``page``. An
    ``LtiaasAuthError`` raised while the app runs is answered like a rejection when it escapes before the
    response starts, or when the framework (Starlette's ``ServerErrorMiddleware``) answers it with its own
    500; after the response has started it propagates.

    The launch is current for the duration of the app call, which includes streamed bodies and the
    tasks the app starts (they copy the context); it is also at ``scope["ltiaas_auth.launch"]`` (in a
    copy of the scope: the server's own is never changed). ``lifespan`` passes through untouched.
    ``websocket`` connections are checked the same way; a refused one is closed with code 1008 before it
    is accepted (servers answer the handshake with 403), whatever ``error_app`` is. For the ``form`` and
    ``json`` sources the body is buffered (up to ``max_body_size``) and replayed to the app message by
    message. Pure ASGI: no framework is imported, and no ``BaseHTTPMiddleware`` breaks ``contextvars``.
    Add it outermost among your own middleware.
    """

    __slots__ = ("_gate", "app", "config", "error_app", "page")

    def __init__(
        self,
        app: ASGIApp,
        /,
        config: LtiaasConfig,
        *,
        require: bool = True,
        exempt: Iterable[str] = (),
        sources: Iterable[str] = DEFAULT_SOURCES,
        max_body_size: int = 65536,
        referrer_policy: str | None = "no-referrer",
        prefetch_idtoken: bool = True,
        error_app: ASGIApp | None = None,
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
        return f"LtiaasASGIMiddleware({self.app!r}, config={self.config!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        gate = self._gate
        parsed = None
        launch: Launch | None
        url = False
        # The warm path: an HTTP request carrying a token already parsed (and confirmed, with prefetch) in
        # a plain ``Bearer`` or a plain ``?ltik=``, and nowhere else, costs the header scan, one LRU hit
        # and one look at the clock; anything else takes _decide below, which applies every rule. The LRU
        # only ever holds compact JWSs, so a hit on what follows ``Bearer `` (or ``ltik=``) means the value
        # is exactly that token, as extract.from_authorization (or from_query) would read it.
        if kind == "http":
            authorization = None
            plain = True  # one Authorization at most, no X-Ltik, no body to read for an ltik
            watch_header, watch_body = gate.read_header, bool(gate.body_sources)
            for name, value in scope["headers"]:
                if name == b"authorization":
                    plain = plain and authorization is None
                    authorization = value
                elif (watch_header and name == b"x-ltik") or (watch_body and name == b"content-type"):
                    plain = False
            if plain:
                query = scope.get("query_string")
                text = query.decode("latin-1") if query and gate.read_query else ""
                # extract.ltiks_in_query's cheap test: otherwise no name in the query decodes to "ltik"
                if text and ("ltik" in text or "%" in text):
                    if authorization is None and text[:5] == "ltik=":
                        parsed, url = gate.cached(text[5:]), True
                elif (
                    authorization is not None and authorization[:7] == b"Bearer " and gate.read_authorization
                ):
                    parsed = gate.cached(authorization[7:].decode("latin-1"))
                if parsed is not None and (
                    gate.clock() > parsed.ready  # expired, or not confirmed yet: _decide says which
                    or scope.get("method") == "OPTIONS"
                    or (
                        gate.exempt is not None
                        and gate.exempt(below_mount(scope["path"], scope.get("root_path", ""))) is not None
                    )
                ):
                    parsed = None
        if parsed is not None:
            app, launch = self.app, parsed.launch
            scope = {**scope, LAUNCH_KEY: launch}
        else:
            decided = await self._decide(kind, scope, receive, send)
            if decided is None:
                return
            app, launch, url, scope, receive = decided

        # Set for every request that runs app code, to None when there is no launch, so a credential
        # left in a reused context never shows; reset however the app ends. The one object made per
        # request is the held send and the request's error slot at once; the slot goes in the context's
        # Holder (set once per context, not per request).
        exchange = _Exchange()
        exchange.send = send
        exchange.error = None
        exchange.phase = _WAITING
        exchange.policy = gate.referrer_policy_bytes if url and kind == "http" else _NO_HEADERS
        exchange.owner = self
        exchange.scope = scope
        token = credential_var.set(launch)
        holder = slot_var.get()
        slot_token = None
        if holder.__class__ is not Holder or holder.current is not None:
            # the context's first request, or its holder is busy (a request in progress, nested)
            inside = holder
            holder = Holder()
            if inside is not None:
                slot_token = slot_var.set(holder)
            else:
                slot_var.set(holder)  # kept for the context's next request
        holder.current = exchange
        try:
            if kind != "http":
                await app(scope, receive, send)
                return
            try:
                await app(scope, receive, exchange)
            except Exception as failure:
                if exchange.phase == _REPLACED and answerable(failure):
                    return  # answered already, in place of the framework's 500
                if exchange.phase == _STARTED or not answerable(failure):
                    raise
                await self._reject(scope, exchange.unheld, failure)
        finally:
            holder.current = None
            if slot_token is not None:
                slot_var.reset(slot_token)
            credential_var.reset(token)

    async def _decide(
        self, kind: str, scope: Scope, receive: Receive, send: Send
    ) -> tuple[ASGIApp, Launch | None, bool, Scope, Receive] | None:
        """Every request the warm path does not take: None when it was answered (a rejection, a refused
        websocket), else ``(app, launch, url_ltik, scope, receive)`` to run the app with: ``launch`` None
        for no ltik, an exempt path or a CORS preflight; ``url_ltik`` whether the URL carried the ltik
        (the response then gets ``Referrer-Policy`` and ``Cache-Control: private``)."""
        gate = self._gate
        method = scope.get("method", "")
        path = (
            scope["path"] if gate.exempt is None else below_mount(scope["path"], scope.get("root_path", ""))
        )
        if gate.passes(method, path, method == "OPTIONS" and _is_preflight(scope["headers"])):
            return self.app, None, False, scope, receive
        authorization: tuple[str, ...] = ()
        header: tuple[str, ...] = ()
        content_type = content_length = ""
        for name, value in scope["headers"]:
            if name not in _READ_HEADERS:
                continue
            if name == b"authorization":
                authorization += (value.decode("latin-1"),)
            elif name == b"x-ltik":
                header += (value.decode("latin-1"),)
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value.decode("latin-1")
        body = body_kind = None
        too_large = False
        if gate.body_sources and kind == "http":
            body_kind = body_source(content_type, gate.body_sources)
            if body_kind is not None:
                body, too_large, receive = await _read_body(receive, content_length, gate.max_body_size)
        query = scope.get("query_string", b"")
        parsed, error, url_ltik = gate.find(
            authorization,
            query.decode("latin-1") if query else "",
            header,
            body,
            body_kind,
            too_large,
        )
        if parsed is not None:
            error = await gate.aconfirm(parsed)  # nothing to do once the entry says it was confirmed
        if error is not None:
            if kind == "websocket":
                await _refuse_websocket(receive, send, error)
                return None
            if self.error_app is None:
                if url_ltik:
                    send = _with_url_ltik_headers(send, gate.referrer_policy_bytes)
                await self._reject(scope, send, error)
                return None
            return self.error_app, None, url_ltik, {**scope, ERROR_KEY: error}, receive
        if parsed is None:
            return self.app, None, url_ltik, scope, receive
        return self.app, parsed.launch, url_ltik, {**scope, LAUNCH_KEY: parsed.launch}, receive

    async def _reject(self, scope: Scope, send: Send, error: LtiaasAuthError) -> None:
        if self.error_app is not None and scope.get(ERROR_KEY) is not error:
            await self.error_app({**scope, ERROR_KEY: error}, _no_body, send)
            return
        accept = fetch_mode = None
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"sec-fetch-mode":
                fetch_mode = value.decode("latin-1")
        status, headers, body = render(error, html=wants_html(accept, fetch_mode), page=self.page)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _nothing() -> None:
    """What sending a message of the replaced 500 does."""


async def _no_body() -> Message:
    """The ``receive`` of an ``error_app`` answering after the app has consumed the request."""
    return {"type": "http.disconnect"}


def _is_preflight(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    origin = method = False
    for name, value in headers:
        if name == b"origin":
            origin = bool(value)
        elif name == b"access-control-request-method":
            method = bool(value)
    return origin and method


async def _refuse_websocket(receive: Receive, send: Send, error: LtiaasAuthError) -> None:
    """Close before accepting; the spec wants the ``websocket.connect`` message read first."""
    message = await receive()
    if message["type"] == "websocket.connect":
        reason = error.edge_code or error.code
        await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": reason})


#: ``_Exchange.policy`` of a request whose URL carried no ltik: no header to add.
_NO_HEADERS = b""


class _Exchange:
    """One HTTP request's state, in one object (made without ``__init__``: the adapter sets every slot).

    It is the ``send`` the app gets: a 500 started after one of our errors was recorded for this request
    is replaced by that error's rejection, and the rest of the framework's 500 dropped; for a request
    whose URL carried the ltik it adds ``Referrer-Policy`` and ``Cache-Control: private``. It hands back
    the server's own awaitable, so a message costs no extra coroutine. And it is the request's error
    slot (``_raised``: ``slot[0]`` is the error recorded).
    """

    __slots__ = ("error", "owner", "phase", "policy", "scope", "send")

    error: LtiaasAuthError | None
    owner: LtiaasASGIMiddleware
    phase: int
    #: The ``Referrer-Policy`` to add (None: only ``Cache-Control``), or ``_NO_HEADERS``.
    policy: bytes | None
    scope: Scope
    send: Send

    def __getitem__(self, index: int) -> LtiaasAuthError | None:
        return self.error

    def __setitem__(self, index: int, error: LtiaasAuthError) -> None:
        self.error = error

    def __call__(self, message: Message) -> Awaitable[None]:
        phase = self.phase
        if phase == _WAITING and message["type"] == "http.response.start":
            error = self.error
            if error is not None and message["status"] == 500:
                self.phase = _REPLACED
                return self.owner._reject(self.scope, self.unheld, error)
            self.phase = _STARTED
            if self.policy is not _NO_HEADERS:
                message = _url_ltik_headers(message, self.policy)
        elif phase == _REPLACED:
            return _nothing()
        return self.send(message)

    def unheld(self, message: Message) -> Awaitable[None]:
        """The server's ``send`` for the middleware's own answer: the URL headers, nothing held."""
        if self.policy is not _NO_HEADERS and message["type"] == "http.response.start":
            message = _url_ltik_headers(message, self.policy)
        return self.send(message)


def _url_ltik_headers(message: Message, policy: bytes | None) -> Message:
    """An ``http.response.start`` message of a request whose ltik came in the URL, with
    ``Referrer-Policy`` (unless ``policy`` is None) and ``Cache-Control: private`` (RFC 6750 §2.3), each
    unless the response sets its own (in a copy: the app's message is left as it was)."""
    headers = message.get("headers", ())
    cache = False
    referrer = policy is None
    for name, _ in headers:
        lowered = name.lower()
        if lowered == b"cache-control":
            cache = True
        elif lowered == b"referrer-policy":
            referrer = True
    if cache:
        if referrer:
            return message
        added = [(b"referrer-policy", policy)]
    elif referrer:
        added = [_PRIVATE]
    else:
        added = [(b"referrer-policy", policy), _PRIVATE]
    return {**message, "headers": [*headers, *added]}


_PRIVATE = (b"cache-control", b"private")


def _with_url_ltik_headers(send: Send, policy: bytes | None) -> Send:
    """``send`` adding :func:`_url_ltik_headers`, for a rejection decided before the app ran."""

    def send_with_headers(message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            message = _url_ltik_headers(message, policy)
        return send(message)

    return send_with_headers


async def _read_body(receive: Receive, content_length: str, limit: int) -> tuple[bytes | None, bool, Receive]:
    """``(body, too_large, receive)``: the whole body if it is at most ``limit`` bytes (else None, and
    whether that is because it is larger), and the ``receive`` the app must use: it replays every message
    read here, unchanged, then hands over to the server's."""
    if content_length:
        try:
            declared = int(content_length)
        except ValueError:
            return None, False, receive
        if not 0 <= declared <= limit:
            return None, declared > limit, receive
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    body: bytes | None = None
    too_large = False
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # http.disconnect: the app will see it too
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            too_large = True
            break
        chunks.append(chunk)
        if not message.get("more_body", False):
            body = b"".join(chunks)
            break
    return body, too_large, _Replay(messages, receive)


class _Replay:
    """A ``receive`` that first returns the messages the middleware already read."""

    __slots__ = ("_messages", "_receive")

    def __init__(self, messages: Iterable[Message], receive: Receive) -> None:
        self._messages = deque(messages)
        self._receive = receive

    async def __call__(self) -> Message:
        if self._messages:
            return self._messages.popleft()
        return await self._receive()
