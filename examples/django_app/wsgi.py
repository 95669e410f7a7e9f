"""WSGI entry point: ``gunicorn examples.django_app.wsgi:application``.

Django's own middleware runs inside ours, so the launch is current in every view and Django middleware.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from ltiaas_auth import LtiaasConfig, LtiaasMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")

application = LtiaasMiddleware(get_wsgi_application(), LtiaasConfig.from_env(), exempt=("/health",))
