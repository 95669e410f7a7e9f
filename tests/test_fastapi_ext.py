"""``ltiaas_auth.fastapi`` and ``ltiaas_auth.starlette`` on real FastAPI and Starlette apps, against a real
FakeLtiaas: the dependencies, the role gates, OpenAPI, overrides, websockets and ``install``."""

from __future__ import annotations

import asyncio
import inspect
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from ltiaas_auth import (
    Launch,
    LtiaasAuthError,
    LtikRefused,
    MissingLtik,
    UpstreamError,
    current_launch,
    launch_context,
)
from ltiaas_auth._gate import LAUNCH_KEY
from ltiaas_auth.fastapi import (
    CurrentLaunch,
    LtiaasApi,
    LtikBearer,
    LtikHeader,
    LtikQuery,
    OptionalLaunch,
    get_client,
    get_launch,
    get_optional_launch,
    install,
    require_roles,
)
from ltiaas_auth.starlette import install as install_starlette
from ltiaas_auth.testing import FakeLtiaas

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`"),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the middleware's prefetch awaits aidtoken(), which is asyncio's


SCHEMES = {"LtikBearer", "LtikQuery", "LtikHeader"}
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def make_app(fake: FakeLtiaas, **options: Any) -> FastAPI:
    app = FastAPI()
    teachers = APIRouter(prefix="/teach", dependencies=[require_roles("Instructor")])

    @app.get("/me")
    async def me(launch: CurrentLaunch) -> dict[str, Any]:
        idtoken = await launch.aidtoken()
        return {"ltik": launch.ltik.fingerprint, "user": idtoken["user"]["id"]}

    @app.get("/maybe")
    async def maybe(launch: OptionalLaunch) -> dict[str, Any]:
        return {"launch": None if launch is None else launch.ltik.fingerprint}

    @app.get("/grade", dependencies=[require_roles("Instructor", "Mentor")])
    async def grade() -> str:
        return "graded"

    @app.get("/gated-launch")
    async def gated_launch(launch: Annotated[Launch, require_roles("Learner")]) -> str:
        return launch.ltik.fingerprint

    @teachers.get("/panel")
    async def panel() -> str:
        return "panel"

    @app.get("/health")
    async def health() -> str:
        return "ok"

    @app.get("/upstream")
    async def upstream(launch: CurrentLaunch) -> str:
        raise UpstreamError("LTIAAS said no.", upstream_status=503)

    @app.get("/refused")
    async def refused(launch: CurrentLaunch) -> str:
        raise LtikRefused("LTIAAS refused the ltik.", upstream_status=401)

    @app.get("/roster")
    async def roster(client: LtiaasApi) -> list[str]:
        return [member.user_id async for member in client.memberships()]

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, launch: CurrentLaunch) -> None:
        await websocket.accept()
        await websocket.send_json({"ltik": launch.ltik.fingerprint, "now": current_launch().ltik.fingerprint})
        await websocket.close()

    @app.websocket("/ws-teach", dependencies=[require_roles("Instructor")])
    async def ws_teach(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("teacher")
        await websocket.close()

    app.include_router(teachers)
    install(app, fake.config(), exempt=["/health"], **options)
    return app


def websocket_client(app: Any) -> Any:
    """Starlette's ``TestClient`` (the in-process websocket client), imported without the warning it
    gives at import when httpx2 is absent."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient
    return TestClient(app)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run (as a server runs it), driven through ``httpx.ASGITransport``."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tool.test") as client:
            yield client


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def bearer(ltik: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ltik}"}


# --- 401 rather than 500; OptionalLaunch --------------------------------------------------------------------


def exempt_endpoint_app(fake: FakeLtiaas) -> FastAPI:
    """An endpoint that asks for the launch on a path the gate never looks at."""
    app = FastAPI()

    @app.get("/public/me")
    async def public_me(launch: CurrentLaunch) -> str:
        return "unreachable"

    install(app, fake.config(), exempt=["/public/*"])
    return app


@pytest.mark.parametrize(
    ("build", "path"),
    [
        pytest.param(lambda fake: make_app(fake, require=False), "/me", id="require=False"),
        pytest.param(exempt_endpoint_app, "/public/me", id="exempt-path"),
    ],
)
async def test_current_launch_without_an_ltik_is_401_not_500(
    fake: FakeLtiaas, build: Callable[[FakeLtiaas], FastAPI], path: str
) -> None:
    async with serving(build(fake)) as client:
        answer = await client.get(path)
    assert answer.status_code == 401
    assert answer.json() == {
        "status": 401,
        "error": "Unauthorized",
        "details": {"message": "MISSING_LTIK", "description": answer.json()["details"]["description"]},
    }
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.headers["cache-control"] == "no-store"


async def test_optional_launch_is_none_without_an_ltik_and_the_launch_with_one(fake: FakeLtiaas) -> None:
    app = make_app(fake, require=False)
    ltik = fake.launch(user_id="ada")
    async with serving(app) as client:
        without = await client.get("/maybe")
        with_ = await client.get("/maybe", headers=bearer(ltik))
        me = await client.get("/me", params={"ltik": ltik})
    assert without.json() == {"launch": None}
    assert with_.json()["launch"] == me.json()["ltik"]
    assert me.json()["user"] == "ada"


async def test_the_gate_still_refuses_before_the_dependencies(fake: FakeLtiaas) -> None:
    async with serving(make_app(fake)) as client:
        missing = await client.get("/me")
        invalid = await client.get("/me", headers=bearer("not-a-token"))
        forged = await client.get("/me", headers=bearer(FakeLtiaas().launch()))
    assert (missing.status_code, missing.json()["details"]["message"]) == (401, "MISSING_LTIK")
    assert (invalid.status_code, invalid.json()["details"]["message"]) == (401, "INVALID_LTIK")
    assert (forged.status_code, forged.json()["details"]["message"]) == (401, "INVALID_LTIK")  # prefetch


# --- roles ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "path", "status"),
    [
        pytest.param(["Learner"], "/grade", 403, id="learner-on-route"),
        pytest.param(["Instructor"], "/grade", 200, id="instructor-on-route"),
        pytest.param(["Mentor"], "/grade", 200, id="any-of"),
        pytest.param(["Learner"], "/teach/panel", 403, id="router"),
        pytest.param([INSTRUCTOR], "/teach/panel", 200, id="router-instructor-uri"),
        pytest.param(["Learner"], "/gated-launch", 200, id="annotated-param"),
        pytest.param(["Instructor"], "/gated-launch", 403, id="annotated-param-refused"),
    ],
)
async def test_require_roles(fake: FakeLtiaas, roles: list[str], path: str, status: int) -> None:
    ltik = fake.launch(roles=roles)
    async with serving(make_app(fake)) as client:
        answer = await client.get(path, headers=bearer(ltik))
    assert answer.status_code == status, answer.text
    if status == 403:
        assert answer.json()["details"]["message"] == "ROLE_REQUIRED"
        assert ltik not in answer.text


def test_require_roles_needs_a_role() -> None:
    with pytest.raises(ValueError, match="role"):
        require_roles()
    with pytest.raises(ValueError, match="role"):
        require_roles(" ")


# --- errors raised in endpoints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        pytest.param("/upstream", 502, "UPSTREAM_UNAVAILABLE", id="upstream"),
        pytest.param("/refused", 401, "INVALID_LTIK", id="ltik-refused"),
    ],
)
async def test_an_error_raised_in_an_endpoint_is_answered_in_ltiaas_shape(
    fake: FakeLtiaas, path: str, status: int, code: str
) -> None:
    ltik = fake.launch()
    async with serving(make_app(fake)) as client:
        answer = await client.get(path, headers=bearer(ltik))
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["details"]["message"] == code
    assert ltik not in answer.text
    assert fake.api_key not in answer.text


# --- OpenAPI --------------------------------------------------------------------------------------------


async def test_openapi_declares_the_three_schemes_and_protected_operations_use_them(fake: FakeLtiaas) -> None:
    async with serving(make_app(fake)) as client:
        schema = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert docs.status_code == 200  # exempt: the page with "Authorize" loads without an ltik
    schemes = schema["components"]["securitySchemes"]
    assert schemes == {
        "LtikBearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schemes["LtikBearer"]["description"],
        },
        "LtikQuery": {
            "type": "apiKey",
            "in": "query",
            "name": "ltik",
            "description": schemes["LtikQuery"]["description"],
        },
        "LtikHeader": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Ltik",
            "description": schemes["LtikHeader"]["description"],
        },
    }
    for path in ("/me", "/maybe", "/grade", "/teach/panel", "/gated-launch"):
        security = schema["paths"][path]["get"]["security"]
        assert {name for requirement in security for name in requirement} == SCHEMES, path
        assert len(security) == 3  # three alternatives: any one of them will do
    assert "security" not in schema["paths"]["/health"]["get"]
    assert "security" not in schema["paths"]["/roster"]["get"]


# --- overrides ------------------------------------------------------------------------------------------


async def test_dependency_overrides_replace_the_launch(fake: FakeLtiaas) -> None:
    app = make_app(fake)
    stand_in = fake.launch(user_id="stand-in")
    with launch_context(fake.config(), stand_in) as launch:
        pass
    app.dependency_overrides[get_launch] = lambda: launch
    async with serving(app) as client:
        me = await client.get("/me")  # no ltik sent at all
        forged = await client.get("/me", headers=bearer("not-a-token"))
    assert me.status_code == 200
    assert me.json() == {"ltik": launch.ltik.fingerprint, "user": "stand-in"}
    assert forged.status_code == 401  # the override waives a missing ltik, never an invalid one

    app.dependency_overrides.clear()
    app.dependency_overrides[get_optional_launch] = lambda: launch
    async with serving(app) as client:
        assert (await client.get("/maybe")).json() == {"launch": launch.ltik.fingerprint}
        assert (await client.get("/me")).json()["user"] == "stand-in"  # get_launch builds on it
    app.dependency_overrides.clear()
    async with serving(app) as client:
        assert (await client.get("/me")).status_code == 401


# --- coroutines on the event loop -----------------------------------------------------------------------


def test_the_dependencies_are_coroutines() -> None:
    for function in (get_launch, get_optional_launch):
        assert inspect.iscoroutinefunction(function)
    for scheme in (LtikBearer, LtikQuery, LtikHeader):
        assert inspect.iscoroutinefunction(scheme.__call__)
    assert inspect.iscoroutinefunction(require_roles("Instructor").dependency)
    assert inspect.isasyncgenfunction(get_client)


class _RecordingScope(dict[str, Any]):
    """A scope that notes which thread reads the launch from it (what the dependency does)."""

    readers: list[int]

    def get(self, key: str, default: Any = None) -> Any:
        if key == LAUNCH_KEY:
            self.readers.append(threading.get_ident())
        return super().get(key, default)


class _Recorder:
    """Pure ASGI middleware, inside the gate: hands the app a scope that records who reads the launch."""

    def __init__(self, app: Any, readers: list[int]) -> None:
        self.app = app
        self.readers = readers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        recording = _RecordingScope(scope)
        recording.readers = self.readers
        await self.app(recording, receive, send)


async def test_the_dependencies_run_on_the_event_loop_thread_even_for_a_sync_endpoint(
    fake: FakeLtiaas,
) -> None:
    readers: list[int] = []
    app = FastAPI()

    @app.get("/sync")
    def sync_endpoint(launch: CurrentLaunch) -> dict[str, int]:  # a plain def: run in the threadpool
        return {"endpoint": threading.get_ident()}

    app.add_middleware(_Recorder, readers=readers)
    install(app, fake.config())  # added last: the gate is outside the recorder
    ltik = fake.launch()
    loop_thread = threading.get_ident()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tool.test"
    ) as client:
        answer = await client.get("/sync", headers=bearer(ltik))
    assert answer.status_code == 200, answer.text
    assert readers  # the dependency read the launch...
    assert set(readers) == {loop_thread}  # ...on the event loop's thread
    assert answer.json()["endpoint"] != loop_thread  # while the endpoint ran in the threadpool


# --- websockets -----------------------------------------------------------------------------------------


def test_websocket_endpoints_use_the_same_dependencies(fake: FakeLtiaas) -> None:
    learner, teacher = fake.launch(), fake.launch(roles=["Instructor"])
    with websocket_client(make_app(fake, require=False)) as client:
        with client.websocket_connect(f"/ws?ltik={learner}") as socket:
            seen = socket.receive_json()
        with client.websocket_connect("/ws-teach", headers={"X-Ltik": teacher}) as socket:
            assert socket.receive_text() == "teacher"
        for path, headers in (("/ws", {}), ("/ws-teach", {"X-Ltik": learner})):
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect(path, headers=headers),
            ):
                pass
            assert refused.value.code == 1008
    assert seen["ltik"] == seen["now"]
    assert seen["ltik"] == client.get("/maybe", params={"ltik": learner}).json()["launch"]


# --- the API client -------------------------------------------------------------------------------------


async def test_the_api_client_is_opened_by_the_lifespan_and_reused(fake: FakeLtiaas) -> None:
    app = make_app(fake)
    ltiks = [fake.launch(user_id=f"member-{index}") for index in range(3)]
    async with serving(app) as client:
        assert app.state.ltiaas_client is not None
        for ltik in ltiks:  # the idtokens fetched (and cached) first, so only the roster calls remain
            assert (await client.get("/me", headers=bearer(ltik))).status_code == 200
        before = fake.connections
        rosters = [(await client.get("/roster", headers=bearer(ltik))).json() for ltik in ltiks]
        opened = fake.connections - before
    assert app.state.ltiaas_client is None  # closed with the lifespan
    assert rosters == [[f"member-{index}"] for index in range(3)]
    assert opened == 1  # three launches, one pooled connection


async def test_without_a_lifespan_each_request_gets_a_client_of_its_own(fake: FakeLtiaas) -> None:
    app = make_app(fake)
    ltik = fake.launch(user_id="solo")
    transport = httpx.ASGITransport(app=app)  # never runs the lifespan
    async with httpx.AsyncClient(transport=transport, base_url="http://tool.test") as client:
        answer = await client.get("/roster", headers=bearer(ltik))
    assert answer.json() == ["solo"]


# --- plain Starlette ------------------------------------------------------------------------------------


async def test_install_on_a_plain_starlette_app(fake: FakeLtiaas) -> None:
    async def whoami(request: Request) -> JSONResponse:
        idtoken = await current_launch().aidtoken()
        return JSONResponse(
            {"user": idtoken["user"]["id"], "key": request.scope[LAUNCH_KEY].ltik.fingerprint}
        )

    async def failing(request: Request) -> JSONResponse:
        raise UpstreamError("LTIAAS said no.", upstream_status=500)

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(current_launch().ltik.fingerprint)
        await websocket.close()

    app = Starlette(
        routes=[Route("/whoami", whoami), Route("/failing", failing), WebSocketRoute("/ws", socket)]
    )
    config = install_starlette(app, fake.config())
    assert config == fake.config()
    ltik = fake.launch(user_id="plain")
    async with serving(app) as client:
        found = await client.get("/whoami", headers=bearer(ltik))
        missing = await client.get("/whoami")
        failed = await client.get("/failing", headers=bearer(ltik))
    assert found.json()["user"] == "plain"
    assert (missing.status_code, missing.json()["details"]["message"]) == (401, "MISSING_LTIK")
    assert (failed.status_code, failed.json()["details"]["message"]) == (502, "UPSTREAM_UNAVAILABLE")
    with websocket_client(app) as client:
        with client.websocket_connect("/ws", headers={"Authorization": f"Bearer {ltik}"}) as ws:
            assert ws.receive_text() == found.json()["key"]
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
            pass
    assert refused.value.code == 1008


def test_install_reads_the_environment_and_checks_its_arguments(
    fake: FakeLtiaas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LTIAAS_API_KEY", fake.api_key)
    monkeypatch.setenv("LTIAAS_URL", fake.url)
    assert install(FastAPI()) == fake.config()
    with pytest.raises(TypeError, match="LtiaasConfig"):
        install(FastAPI(), "not a config")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="globs"):
        install(FastAPI(), fake.config(), exempt="/health")


def test_the_gate_is_built_with_the_documentation_routes_exempt(fake: FakeLtiaas) -> None:
    app = FastAPI(docs_url="/api-docs", redoc_url=None)
    install(app, fake.config(), exempt=["/health"])
    (middleware,) = app.user_middleware
    assert middleware.kwargs["exempt"] == ("/health", "/openapi.json", "/api-docs", "/docs/oauth2-redirect")
    assert middleware.kwargs["prefetch_idtoken"] is True


def test_asyncio_run_is_enough(fake: FakeLtiaas) -> None:
    """No test plugin needed: the dependencies work under a plain ``asyncio.run``."""

    async def main() -> int:
        async with serving(make_app(fake)) as client:
            return (await client.get("/me", headers=bearer(fake.launch()))).status_code

    assert asyncio.run(main()) == 200


async def user_id(launch: CurrentLaunch) -> str:
    """A dependency of the app's own, built on ``CurrentLaunch``."""
    return str((await launch.aidtoken())["user"]["id"])


def test_depends_on_get_launch_in_a_user_dependency(fake: FakeLtiaas) -> None:
    app = FastAPI()

    @app.get("/id")
    async def endpoint(user: Annotated[str, Depends(user_id)]) -> str:
        return user

    install(app, fake.config())
    with websocket_client(app) as client:
        assert client.get("/id", headers=bearer(fake.launch(user_id="nested"))).json() == "nested"


async def test_a_navigation_gets_the_html_page(fake: FakeLtiaas) -> None:
    ltik = fake.launch()
    navigation = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}
    async with serving(make_app(fake)) as client:
        failed = await client.get("/upstream", headers={**navigation, "X-Ltik": ltik})
        role = await client.get("/grade", headers={**navigation, "X-Ltik": ltik})
    for answer, status in ((failed, 502), (role, 403)):
        assert answer.status_code == status
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert "script-src 'nonce-" in answer.headers["content-security-policy"]
        assert ltik not in answer.text


async def test_the_page_option_renders_the_gates_and_the_endpoints_navigations(fake: FakeLtiaas) -> None:
    def page(error: Any, nonce: str) -> str:
        return f"<p>{error.code}</p>"

    app = make_app(fake, page=page)
    navigation = {"Sec-Fetch-Mode": "navigate"}
    async with serving(app) as client:
        rejected = await client.get("/me", headers=navigation)  # by the gate
        role = await client.get("/grade", headers={**navigation, "X-Ltik": fake.launch()})  # by the endpoint
    assert (rejected.status_code, rejected.text) == (401, "<p>MISSING_LTIK</p>")
    assert (role.status_code, role.text) == (403, "<p>ROLE_REQUIRED</p>")


def test_install_runs_once_per_app(fake: FakeLtiaas) -> None:
    app = FastAPI()
    install(app, fake.config())
    with pytest.raises(RuntimeError, match="already installed"):
        install(app, fake.config())


async def test_an_overridden_launch_is_waived_once_even_if_the_endpoint_lets_missing_ltik_escape(
    fake: FakeLtiaas,
) -> None:
    """An endpoint whose MissingLtik escapes every handler comes back to the gate: answered, not re-run."""
    calls: list[str] = []
    app = FastAPI()

    @app.get("/escapes")
    async def escapes(launch: OptionalLaunch) -> str:
        calls.append("ran")
        raise MissingLtik()

    install(app, fake.config())
    app.exception_handlers.pop(LtiaasAuthError)  # as if no handler were registered
    app.dependency_overrides[get_optional_launch] = lambda: None
    async with serving(app) as client:
        answer = await client.get("/escapes")
    assert calls == ["ran"]
    assert (answer.status_code, answer.json()["details"]["message"]) == (401, "MISSING_LTIK")
