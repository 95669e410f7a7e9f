"""WSGI entry point: ``gunicorn examples.django_app.wsgi:application``.

Django's own middleware runs inside ours, so the launch is current in every view and Django middleware.
With ``prefetch_idtoken=True``, LTIAAS (the only one who can verify an ltik) confirms the launch before any
view runs: a forged or tampered ltik gets 401 ``INVALID_LTIK``, LTIAAS down gets 502
``UPSTREAM_UNAVAILABLE``, and the idtoken is cached, so views that read it cost nothing more.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from ltiaas_auth import LtiaasConfig, LtiaasMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")

# Only LTIAAS can verify an ltik: it confirms each launch before any view (forged 401, LTIAAS down 502).
application = LtiaasMiddleware(
    get_wsgi_application(), LtiaasConfig.from_env(), exempt=("/health",), prefetch_idtoken=True
)
