"""ASGI entry point: ``uvicorn examples.django_app.asgi:application`` (the gate is a ``MIDDLEWARE`` entry,
run async: async views and streams never leave the event loop for it)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
application = get_asgi_application()
