"""Django configured in code, for the tests that run it without a settings module: no apps, no database,
no middleware (each test wraps the application itself), the URL patterns of the module it names."""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings


def configure_django(urlconf: str, **extra: Any) -> None:
    """Configure Django with ``urlconf`` as ``ROOT_URLCONF`` (and ``extra`` settings) unless this process
    configured it already, then set it up."""
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only-not-secret",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF=urlconf,
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
            DATABASES={},
            USE_TZ=True,
            **extra,
        )
    django.setup()
