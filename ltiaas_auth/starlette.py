"""``install(app)``: the one call that puts ltiaas_auth on a Starlette (or FastAPI) app.

It adds :class:`ltiaas_auth.LtiaasASGIMiddleware` (the gate: every rule lives there), an exception
handler that answers an ``LtiaasAuthError`` raised in an endpoint as the middleware answers a rejection,
and a lifespan-managed ``AsyncLtiaasClient`` (when ``ltiaas_auth.api`` can be imported). This module
imports Starlette only; the FastAPI dependencies are in :mod:`ltiaas_auth.fastapi`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocketClose

from ._gate import ERROR_KEY
from ._rejection import RelaunchPage, render, wants_html
from .asgi import WS_POLICY_VIOLATION, ASGIApp, LtiaasASGIMiddleware, Receive, Scope, Send
from .config import LtiaasConfig
from .errors import LtiaasAuthError, MissingLtik

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import ExceptionHandler

    from .api import AsyncLtiaasClient

__all__ = ["app_client", "app_config", "install", "install_on", "render_error"]

#: Where ``install`` keeps the config and the lifespan's client, on ``app.state``.
CONFIG_STATE = "ltiaas_config"
CLIENT_STATE = "ltiaas_client"
#: The scope key marking a request whose missing ltik was waived for a test's dependency override.
_WAIVED = "ltiaas_auth.starlette.waived"
#: FastAPI's documentation routes: exempt, so ``/docs`` loads and its "Authorize" button can send an ltik.
_DOCS_ATTRIBUTES = ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url")


def install(app: Starlette, config: LtiaasConfig | None = None, **middleware_options: Any) -> LtiaasConfig:
    """Install the gate, the error rendering and the API client on ``app``; returns the config used.

    ``config`` defaults to ``LtiaasConfig.from_env()``. ``middleware_options`` are those of
    ``LtiaasASGIMiddleware``, with ``prefetch_idtoken=True`` unless given; on a FastAPI app its
    documentation routes (``/docs``, ``/redoc``, ``/openapi.json``) are added to ``exempt``. Call it
    after adding your own middleware, so the gate is the outermost of them (Starlette runs the last
    added first). The middleware is built when the app first starts, as Starlette always does.
    """
    return install_on(app, config, middleware_options)


def install_on(
    app: Starlette,
    config: LtiaasConfig | None,
    middleware_options: dict[str, Any],
    *,
    waive_missing: Callable[[], bool] | None = None,
) -> LtiaasConfig:
    """``install``, and for FastAPI: while ``waive_missing()`` is true (a test overrides the launch
    dependencies), a request without any ltik reaches the app instead of being refused, so the override
    can answer; every other rejection stands."""
    if getattr(app.state, CONFIG_STATE, None) is not None:
        raise RuntimeError("ltiaas_auth is already installed on this app: install() runs once per app.")
    if config is None:
        config = LtiaasConfig.from_env()
    elif not isinstance(config, LtiaasConfig):
        raise TypeError("config must be an LtiaasConfig (or None, to read it from the environment).")
    options: dict[str, Any] = {"prefetch_idtoken": True, **middleware_options}
    exempt = options.pop("exempt", ())
    if isinstance(exempt, str):
        raise ValueError("exempt takes a sequence of fnmatch globs, not a single string.")
    docs = [getattr(app, name, None) for name in _DOCS_ATTRIBUTES]
    options["exempt"] = (*exempt, *(path for path in docs if isinstance(path, str) and path))
    app.add_middleware(_gate, config=config, waive_missing=waive_missing, **options)
    handler = functools.partial(render_error, page=options.get("page"))
    app.add_exception_handler(LtiaasAuthError, cast("ExceptionHandler", handler))
    setattr(app.state, CONFIG_STATE, config)
    app.router.lifespan_context = _with_client(app, app.router.lifespan_context, config)
    return config


def _gate(
    app: ASGIApp,
    /,
    *,
    config: LtiaasConfig,
    waive_missing: Callable[[], bool] | None,
    error_app: ASGIApp | None = None,
    **options: Any,
) -> ASGIApp:
    """The middleware around the next app, built by Starlette when the app starts."""
    if waive_missing is None:
        return LtiaasASGIMiddleware(app, config=config, error_app=error_app, **options)

    async def rejected(scope: Scope, receive: Receive, send: Send) -> None:
        error = scope[ERROR_KEY]
        if isinstance(error, MissingLtik) and not scope.get(_WAIVED) and waive_missing():
            # No launch is set: the overridden dependency answers. Marked in place, so that an error the
            # app then lets escape, which comes back here, is rendered, never run again.
            scope[_WAIVED] = True
            await app(scope, receive, send)
        elif error_app is not None:
            await error_app(scope, receive, send)
        else:
            response = await render_error(HTTPConnection(scope), error, options.get("page"))
            await response(scope, receive, send)

    return LtiaasASGIMiddleware(app, config=config, error_app=rejected, **options)


async def render_error(
    connection: HTTPConnection, error: Exception, page: RelaunchPage | None = None
) -> Response | WebSocketClose:
    """An ``LtiaasAuthError`` raised by an endpoint or a dependency, answered as the middleware answers a
    rejection (never a token): LTIAAS's JSON shape, or for a browser navigation the relaunch page
    (``page``, the middleware's option of that name); a websocket is closed with 1008 (before it is
    accepted, servers answer the handshake with 403)."""
    if not isinstance(error, LtiaasAuthError):  # pragma: no cover - registered for LtiaasAuthError only
        raise error
    if connection.scope["type"] == "websocket":
        return WebSocketClose(code=WS_POLICY_VIOLATION, reason=error.code)
    html = wants_html(connection.headers.get("accept"), connection.headers.get("sec-fetch-mode"))
    status, headers, body = render(error, html=html, page=page)
    return Response(body, status_code=status, headers=dict(headers))


def app_config(connection: HTTPConnection) -> LtiaasConfig:
    """The config ``install`` put on the connection's app."""
    config = getattr(connection.app.state, CONFIG_STATE, None)
    if not isinstance(config, LtiaasConfig):
        raise RuntimeError("ltiaas_auth is not installed on this app: call install(app) first.")
    return config


def app_client(connection: HTTPConnection) -> AsyncLtiaasClient | None:
    """The app's lifespan-managed client, or None when the lifespan has not run (``httpx.ASGITransport``
    never runs it)."""
    client: AsyncLtiaasClient | None = getattr(connection.app.state, CLIENT_STATE, None)
    return client


def _with_client(app: Starlette, lifespan: Any, config: LtiaasConfig) -> Any:
    """``lifespan`` with one ``AsyncLtiaasClient`` open around it, kept on ``app.state`` meanwhile."""

    @contextlib.asynccontextmanager
    async def lifespan_with_client(lifespan_app: Any) -> AsyncIterator[Any]:
        try:
            from .api import AsyncLtiaasClient
        except ModuleNotFoundError:  # the api extra (httpx) is not installed: no client to manage
            async with lifespan(lifespan_app) as state:
                yield state
            return
        async with AsyncLtiaasClient(config) as client:
            setattr(app.state, CLIENT_STATE, client)
            try:
                async with lifespan(lifespan_app) as state:
                    yield state
            finally:
                setattr(app.state, CLIENT_STATE, None)

    return lifespan_with_client
