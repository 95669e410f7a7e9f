"""A launch page behind ltiaas_auth, served by gunicorn (``app``, WSGI) or uvicorn (``asgi_app``, ASGI).

It is the app of the logging examples in ``docs/security-logging.md``; ``LTIAAS_URL`` and ``LTIAAS_API_KEY``
come from the environment.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig, LtiaasMiddleware, current_launch

config = LtiaasConfig.from_env()
log = logging.getLogger("launch_app")

flask_app = Flask(__name__)


@flask_app.get("/launch")
def launch() -> dict[str, Any]:
    log.info("launch served")
    return {"user": current_launch().idtoken()["user"]["id"]}


app = LtiaasMiddleware(flask_app.wsgi_app, config)


async def async_launch(request: Request) -> JSONResponse:
    log.info("launch served")
    return JSONResponse({"user": (await current_launch().aidtoken())["user"]["id"]})


asgi_app = LtiaasASGIMiddleware(Starlette(routes=[Route("/launch", async_launch)]), config=config)
