"""ASGI entry point: ``uvicorn examples.django_app.asgi:application``.

Django's own middleware runs inside ours, so the launch is current in every view, sync or async.
With ``prefetch_idtoken=True``, LTIAAS (the only one who can verify an ltik) confirms the launch before any
view runs: a forged or tampered ltik gets 401 ``INVALID_LTIK``, LTIAAS down gets 502
``UPSTREAM_UNAVAILABLE``, and the idtoken is cached, so views that read it cost nothing more.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasConfig

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")

# Only LTIAAS can verify an ltik: it confirms each launch before any view (forged 401, LTIAAS down 502).
application = LtiaasASGIMiddleware(
    get_asgi_application(), config=LtiaasConfig.from_env(), exempt=("/health",), prefetch_idtoken=True
)
