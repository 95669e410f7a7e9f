"""FastAPI behind ``LtiaasASGIMiddleware``.

Run it with the LTIAAS settings in the environment::

    export LTIAAS_API_KEY=... LTIAAS_URL=https://your.ltiaas.com
    uvicorn --factory examples.fastapi_app:create_app

Async endpoints use ``await current_launch().aidtoken()``; plain ``def`` endpoints run in the threadpool
and use ``current_launch().idtoken()``. Never hand the API key or the ``Authorization`` value to the
browser.

The middleware runs with ``prefetch_idtoken=True``: LTIAAS, the only one who can verify an ltik, confirms
the launch before any endpoint runs. A forged or tampered ltik gets 401 ``INVALID_LTIK``, LTIAAS down gets
502 ``UPSTREAM_UNAVAILABLE``, and the idtoken is cached, so endpoints that read it cost nothing more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig, current_launch


def create_app(config: LtiaasConfig | None = None) -> FastAPI:
    """The app, its config read from ``LTIAAS_API_KEY`` and ``LTIAAS_URL`` unless one is given."""
    config = config or LtiaasConfig.from_env()
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/whoami")
    async def whoami() -> dict[str, str]:
        launch = current_launch()
        idtoken = await launch.aidtoken()
        return {"ltik": launch.ltik.fingerprint, "user": idtoken["user"]["id"]}

    @app.get("/whoami-sync")
    def whoami_sync() -> dict[str, str]:
        launch = current_launch()  # the threadpool runs this in a copy of the request's context
        return {"ltik": launch.ltik.fingerprint, "user": launch.idtoken()["user"]["id"]}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def lines() -> AsyncIterator[str]:
            for number in range(3):
                yield f"{number} {current_launch().ltik.fingerprint}\n"

        return StreamingResponse(lines(), media_type="text/plain")

    # Outermost among your middleware, so the launch is current wherever the app looks for it.
    # Only LTIAAS can verify an ltik: it confirms each launch before any view (forged 401, LTIAAS down 502).
    app.add_middleware(LtiaasASGIMiddleware, config=config, exempt=("/health",), prefetch_idtoken=True)
    return app
