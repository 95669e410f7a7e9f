"""``LtiaasASGIMiddleware``: the pure ASGI adapter. The decision is :class:`ltiaas_auth._gate.Gate`'s;
this module only reads the scope (and, for body sources, the body), calls the app and sends rejections."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from ._gate import DEFAULT_SOURCES, ERROR_KEY, LAUNCH_KEY, Gate, prefetch_failure, render
from .context import credential_var
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

#: Close code for a refused websocket (policy violation); servers answer the handshake with 403.
WS_POLICY_VIOLATION = 1008


class LtiaasASGIMiddleware:
    """ASGI middleware that finds the request's ltik and makes its launch current.

    .. code-block:: python

        app.add_middleware(LtiaasASGIMiddleware, config=LtiaasConfig.from_env())   # Starlette, FastAPI
        application = LtiaasASGIMiddleware(get_asgi_application(), config=config)   # Django asgi.py

    The options, the rules and the rejections are those of :class:`ltiaas_auth.LtiaasMiddleware` (see
    its documentation): ``require``, ``exempt`` (globs matched against ``scope["path"]``), ``sources``,
    ``max_body_size``, ``referrer_policy`` (HTTP responses only), ``prefetch_idtoken`` (``await
    launch.aidtoken()`` before the app runs, so asyncio only, like ``aidtoken()`` itself) and
    ``error_app`` (an ASGI app, finding the error at ``scope["ltiaas_auth.error"]``).

    The launch is current for the duration of the app call, which includes streamed bodies and the
    tasks the app starts (they copy the context); it is also at ``scope["ltiaas_auth.launch"]`` (in a
    copy of the scope: the server's own is never changed). ``lifespan`` passes through untouched.
    ``websocket`` connections are checked the same way; a refused one is closed with code 1008 before it
    is accepted (servers answer the handshake with 403), whatever ``error_app`` is. For the ``form`` and
    ``json`` sources the body is buffered (up to ``max_body_size``) and replayed to the app message by
    message. Pure ASGI: no framework is imported, and no ``BaseHTTPMiddleware`` breaks ``contextvars``.
    Add it outermost among your own middleware.
    """

    __slots__ = ("_gate", "app", "config", "error_app")

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
        prefetch_idtoken: bool = False,
        error_app: ASGIApp | None = None,
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
        return f"LtiaasASGIMiddleware({self.app!r}, config={self.config!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        app, launch, gate = self.app, None, self._gate
        if not gate.passes(scope.get("method", ""), scope["path"]):
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
            if gate.body_sources and kind == "http":
                body_kind = body_source(content_type, gate.body_sources)
                if body_kind is not None:
                    body, receive = await _read_body(receive, content_length, gate.max_body_size)
            query = scope.get("query_string", b"")
            launch, error, referrer_policy = gate.decide(
                authorization, query.decode("latin-1") if query else "", header, body, body_kind
            )
            if launch is not None and gate.prefetch_idtoken:
                try:
                    await launch.aidtoken()
                except LtiaasAuthError as failure:
                    launch, error = None, prefetch_failure(failure)
            if referrer_policy is not None and kind == "http":
                send = _with_referrer_policy(send, referrer_policy.encode("latin-1"))
            if error is not None:
                if kind == "websocket":
                    await _refuse_websocket(receive, send, error)
                    return
                if self.error_app is None:
                    await _reject(send, error)
                    return
                app, scope = self.error_app, {**scope, ERROR_KEY: error}
            elif launch is not None:
                scope = {**scope, LAUNCH_KEY: launch}

        # Set for every request that runs app code, to None when there is no launch, so a credential
        # left in a reused context never shows; reset however the app ends.
        token = credential_var.set(launch)
        try:
            await app(scope, receive, send)
        finally:
            credential_var.reset(token)


async def _reject(send: Send, error: LtiaasAuthError) -> None:
    status, headers, body = render(error)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse_websocket(receive: Receive, send: Send, error: LtiaasAuthError) -> None:
    """Close before accepting; the spec wants the ``websocket.connect`` message read first."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": error.code})


def _with_referrer_policy(send: Send, policy: bytes) -> Send:
    async def send_with_policy(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", ())
            for name, _ in headers:
                if name.lower() == b"referrer-policy":
                    break
            else:
                message = {**message, "headers": [*headers, (b"referrer-policy", policy)]}
        await send(message)

    return send_with_policy


async def _read_body(receive: Receive, content_length: str, limit: int) -> tuple[bytes | None, Receive]:
    """The whole body if it is at most ``limit`` bytes (else None), and the ``receive`` the app must use:
    it replays every message read here, unchanged, then hands over to the server's."""
    if content_length:
        try:
            declared = int(content_length)
        except ValueError:
            return None, receive
        if not 0 <= declared <= limit:
            return None, receive
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    body: bytes | None = None
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # http.disconnect: the app will see it too
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            break
        chunks.append(chunk)
        if not message.get("more_body", False):
            body = b"".join(chunks)
            break
    return body, _Replay(messages, receive)


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
