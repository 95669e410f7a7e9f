"""Settings of the example tool: ltiaas_auth as an app and a middleware, no database tables, no sessions,
no cookies (the LMS shows the tool in an iframe, where cookies are blocked).

``LTIAAS_API_KEY`` and ``LTIAAS_URL`` come from the environment (the ``LTIAAS`` setting's fallback), so
this module needs no secret; the tests point them at a FakeLtiaas with ``override_settings``.
"""

from __future__ import annotations

import os
import secrets

# Django wants a secret key (the CSRF machinery uses it); the example keeps no signed state across restarts.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "examples.django_app.urls"
WSGI_APPLICATION = "examples.django_app.wsgi.application"
ASGI_APPLICATION = "examples.django_app.asgi.application"

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "rest_framework",
    "ltiaas_auth.django",
    "examples.django_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ltiaas_auth.django.LtiaasMiddleware",  # below SecurityMiddleware, above CsrfViewMiddleware
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

LTIAAS = {
    # "API_KEY" and "URL": from LTIAAS_API_KEY and LTIAAS_URL.
    "LMS_ORIGINS": ["https://canvas.example.edu"],
}

# Error reports (500 pages, the admins' mails) never show an ltik.
DEFAULT_EXCEPTION_REPORTER_FILTER = "ltiaas_auth.django.reporting.LtikSafeExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "ltiaas_auth.django.reporting.LtikSafeExceptionReporter"
ADMINS = [("Tool operators", "ops@example.edu")]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["ltiaas_auth.django.rest.LtiaasAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,  # no django.contrib.auth: the LMS owns the accounts
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# manage.py test: the system checks and the tests run against a FakeLtiaas (no LTIAAS_API_KEY needed).
TEST_RUNNER = "ltiaas_auth.django.testing.FakeLtiaasRunner"

# Django's test runner wants a database; the views use none.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
STATIC_URL = "static/"
USE_TZ = True
