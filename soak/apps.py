"""The example apps with ``prefetch_idtoken=True``, for ``soak/run.py --prefetch``.

The examples in ``examples/`` read the idtoken in their views without handling ``UpstreamError``, so an ltik
LTIAAS refuses (forged, tampered) is a 500 there. These factories build the very same apps and only turn
prefetch on, so the soak can show what the examples would answer with it: a 401 ``INVALID_LTIK``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasMiddleware

if TYPE_CHECKING:
    from fastapi import FastAPI
    from flask import Flask

__all__ = ["fastapi_app", "flask_app"]


def flask_app() -> Flask:
    from examples.flask_app import create_app  # each server imports only its own framework

    app = create_app()
    middleware = app.wsgi_app
    assert isinstance(middleware, LtiaasMiddleware)
    app.wsgi_app = LtiaasMiddleware(  # type: ignore[method-assign]
        middleware.app, middleware.config, exempt=("/health",), prefetch_idtoken=True
    )
    return app


def fastapi_app() -> FastAPI:
    from examples.fastapi_app import create_app

    app = create_app()
    found = [entry for entry in app.user_middleware if entry.cls is LtiaasASGIMiddleware]
    assert len(found) == 1
    found[0].kwargs["prefetch_idtoken"] = True  # read when the middleware stack is built, at startup
    return app
