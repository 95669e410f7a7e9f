"""FastAPI dependencies for the request's launch, role gates and the API client, and ``install(app)``.

.. code-block:: python

    app = FastAPI()
    install(app)                                  # the gate, the error handler, the API client

    @app.get("/me")
    async def me(launch: CurrentLaunch) -> dict[str, str]: ...

The gate is :class:`ltiaas_auth.LtiaasASGIMiddleware`: it reads and checks the ltik before FastAPI
routes the request. These dependencies only hand over what it decided (``scope["ltiaas_auth.launch"]``),
so they are plain coroutines that FastAPI awaits on the event loop, never in the threadpool. They also
declare the ways to send an ltik as OpenAPI security schemes, so ``/docs`` offers "Authorize" and every
operation that uses them says it needs one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Security, params
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPBearer
from starlette.requests import HTTPConnection

from ._gate import LAUNCH_KEY
from .config import LtiaasConfig
from .credentials import Launch
from .errors import MissingLtik
from .roles import Roles
from .starlette import app_client, app_config, install_on, render_error

if TYPE_CHECKING:
    from .api import AsyncLtiaasClient

__all__ = [
    "CurrentLaunch",
    "LtiaasApi",
    "LtikBearer",
    "LtikHeader",
    "LtikQuery",
    "OptionalLaunch",
    "get_client",
    "get_launch",
    "get_optional_launch",
    "install",
    "ltik_bearer",
    "ltik_header",
    "ltik_query",
    "render_error",
    "require_roles",
]


class LtikBearer(HTTPBearer):
    """``Authorization: Bearer <ltik>`` as an OpenAPI scheme. It reads nothing: the middleware did."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


class LtikQuery(APIKeyQuery):
    """``?ltik=<ltik>`` as an OpenAPI scheme. It reads nothing: the middleware did."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


class LtikHeader(APIKeyHeader):
    """``X-Ltik: <ltik>`` as an OpenAPI scheme. It reads nothing: the middleware did."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


ltik_bearer = LtikBearer(
    bearerFormat="JWT",
    scheme_name="LtikBearer",
    description="The launch's ltik as a Bearer token (what ltik.js and most front ends send).",
    auto_error=False,
)
ltik_query = LtikQuery(
    name="ltik",
    scheme_name="LtikQuery",
    description="The launch's ltik in the query string, as LTIAAS redirects a launch.",
    auto_error=False,
)
ltik_header = LtikHeader(
    name="X-Ltik",
    scheme_name="LtikHeader",
    description="The launch's ltik in an X-Ltik header.",
    auto_error=False,
)


async def get_optional_launch(
    connection: HTTPConnection,
    _bearer: Annotated[None, Security(ltik_bearer)],
    _query: Annotated[None, Security(ltik_query)],
    _header: Annotated[None, Security(ltik_header)],
) -> Launch | None:
    """The request's launch as the middleware decided it, or None (an exempt path, ``require=False``).

    Works for HTTP and websocket endpoints alike. Override it (or :func:`get_launch`) in
    ``app.dependency_overrides`` to test endpoints without an ltik.
    """
    launch = connection.scope.get(LAUNCH_KEY)
    return launch if isinstance(launch, Launch) else None


async def get_launch(launch: Annotated[Launch | None, Depends(get_optional_launch)]) -> Launch:
    """The request's launch; 401 ``MISSING_LTIK`` (rendered by ``install``'s handler) without one."""
    if launch is None:
        raise MissingLtik()
    return launch


#: The request's launch; 401 ``MISSING_LTIK`` without one.
CurrentLaunch = Annotated[Launch, Depends(get_launch)]
#: The request's launch, or None.
OptionalLaunch = Annotated[Launch | None, Depends(get_optional_launch)]


def require_roles(*roles: str) -> params.Depends:
    """A dependency that lets the request through only if the launch's user holds one of ``roles`` in
    the course (any-of, as :class:`ltiaas_auth.roles.Roles` reads them); otherwise 403
    ``ROLE_REQUIRED`` (401 ``MISSING_LTIK`` without a launch).

    Use it in ``dependencies=[require_roles("Instructor")]`` on a route, an ``APIRouter`` or the app,
    or as a parameter, ``launch: Annotated[Launch, require_roles("Instructor")]``, which also gives
    the launch.
    """
    if not roles or not all(isinstance(role, str) and role.strip() for role in roles):
        raise ValueError("require_roles() needs one or more role names.")

    async def roles_gate(launch: CurrentLaunch) -> Launch:
        Roles.from_idtoken(await launch.aidtoken()).require_any(*roles)
        return launch

    roles_gate.__qualname__ = f"require_roles({', '.join(map(repr, roles))})"
    return params.Depends(roles_gate)


async def get_client(connection: HTTPConnection) -> AsyncIterator[AsyncLtiaasClient]:
    """The app's ``AsyncLtiaasClient``: the one ``install``'s lifespan opened (pooled connections), or,
    where the lifespan did not run, one opened for this request and closed after it."""
    client = app_client(connection)
    if client is not None:
        yield client
        return
    from .api import AsyncLtiaasClient

    async with AsyncLtiaasClient(app_config(connection)) as own:
        yield own


if TYPE_CHECKING:
    LtiaasApi = Annotated[AsyncLtiaasClient, Depends(get_client)]
else:  # the client's module (and httpx) is only imported when a request needs it
    #: The app's API client (``ltiaas_auth.api.AsyncLtiaasClient``), as a dependency.
    LtiaasApi = Annotated[Any, Depends(get_client)]


def install(app: FastAPI, config: LtiaasConfig | None = None, **middleware_options: Any) -> LtiaasConfig:
    """Install the gate, the error rendering and the API client on a FastAPI app (see
    :func:`ltiaas_auth.starlette.install`); returns the config used.

    For tests: while ``app.dependency_overrides`` overrides :func:`get_launch` or
    :func:`get_optional_launch`, an HTTP request without any ltik reaches the app (with no launch), so the
    override answers; an invalid ltik is still refused.
    """

    def overridden() -> bool:
        overrides = app.dependency_overrides
        return get_launch in overrides or get_optional_launch in overrides

    return install_on(app, config, middleware_options, waive_missing=overridden)
