"""Just enough Django settings for the example: no database, no sessions, no cookies.

The LTIAAS settings are not here: ``wsgi.py`` and ``asgi.py`` read ``LTIAAS_API_KEY`` and ``LTIAAS_URL``
when they build the application.
"""

from __future__ import annotations

import os
import secrets

# Django wants a secret key; the example signs nothing, so a random one per process will do.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "examples.django_app.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
