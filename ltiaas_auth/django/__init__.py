"""Django, natively: ``"ltiaas_auth.django"`` in ``INSTALLED_APPS``, ``"ltiaas_auth.django.LtiaasMiddleware"``
in ``MIDDLEWARE`` (below ``SecurityMiddleware``, above ``CsrfViewMiddleware``) and an ``LTIAAS`` setting.

The gate is the WSGI/ASGI middleware's (:mod:`ltiaas_auth._gate`): same sources, same rules, same
rejections. See docs/django.md for the settings, the decorators, CSRF, the error reports and the checks.
"""

from __future__ import annotations

from .decorators import launch_required, ltik_exempt
from .middleware import LtiaasMiddleware
from .user import LtiUser

__all__ = ["LtiUser", "LtiaasMiddleware", "launch_required", "ltik_exempt"]
