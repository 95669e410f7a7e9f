"""ASGI entry point: ``uvicorn examples.django_app.asgi:application``.

Django's own middleware runs inside ours, so the launch is current in every view, sync or async.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")

application = LtiaasASGIMiddleware(
    get_asgi_application(), config=LtiaasConfig.from_env(), exempt=("/health",)
)
