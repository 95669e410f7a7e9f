"""An LTI tool's API on FastAPI, with ``ltiaas_auth.fastapi``.

Run it with the LTIAAS settings in the environment::

    export LTIAAS_API_KEY=... LTIAAS_URL=https://your.ltiaas.com
    uvicorn --factory examples.fastapi_app:create_app

``install(app)`` puts the gate in front of the app: it reads the ltik (``Authorization: Bearer``,
``?ltik=`` or ``X-Ltik``), has LTIAAS confirm the launch before any endpoint runs (a forged or tampered
ltik gets 401 ``INVALID_LTIK``, LTIAAS down 502), and answers errors in LTIAAS's shape. Endpoints take
the launch as ``CurrentLaunch``, gate on course roles with ``require_roles`` and call LTIAAS through
``LtiaasApi``, the client the app's lifespan opens and closes. ``/docs`` offers "Authorize" with the
three ways to send an ltik.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ltiaas_auth import LtiaasConfig, current_launch
from ltiaas_auth.fastapi import CurrentLaunch, LtiaasApi, install, require_roles


class Grade(BaseModel):
    user_id: str
    score: float = Field(ge=0, le=10)


def create_app(config: LtiaasConfig | None = None) -> FastAPI:
    """The app, its config read from ``LTIAAS_API_KEY`` and ``LTIAAS_URL`` unless one is given."""
    app = FastAPI(title="Course tool")
    instructors = APIRouter(prefix="/instructor", dependencies=[require_roles("Instructor")])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/whoami")
    async def whoami(launch: CurrentLaunch) -> dict[str, str]:
        idtoken = await launch.aidtoken()  # cached: the gate had LTIAAS confirm the launch
        return {"ltik": launch.ltik.fingerprint, "user": idtoken["user"]["id"]}

    @app.get("/whoami-sync")
    def whoami_sync(launch: CurrentLaunch) -> dict[str, str]:
        # A plain def runs in the threadpool (the dependency itself ran on the event loop).
        return {"ltik": launch.ltik.fingerprint, "user": launch.idtoken()["user"]["id"]}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def lines() -> AsyncIterator[str]:
            for number in range(3):
                yield f"{number} {current_launch().ltik.fingerprint}\n"

        return StreamingResponse(lines(), media_type="text/plain")

    @instructors.get("/roster")
    async def roster(client: LtiaasApi) -> dict[str, list[str | None]]:
        return {"members": [member.name async for member in client.memberships()]}

    @instructors.post("/grades")
    async def grade(body: Grade, client: LtiaasApi) -> dict[str, str | None]:
        item = await client.create_line_item(label="Quiz 1", score_maximum=10)
        await client.submit_score(
            str(item.id), user_id=body.user_id, score_given=body.score, score_maximum=10
        )
        return {"graded": body.user_id, "line_item": item.id}

    @app.websocket("/ws")
    async def live(websocket: WebSocket, launch: CurrentLaunch) -> None:
        await websocket.accept()
        await websocket.send_json({"ltik": launch.ltik.fingerprint})
        await websocket.close()

    app.include_router(instructors)
    # Last, so the gate is the outermost middleware. /docs and /openapi.json are exempt by themselves.
    install(app, config, exempt=["/health"])
    return app
