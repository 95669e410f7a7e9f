"""Django, natively: ``"ltiaas_auth.django"`` in ``INSTALLED_APPS``, ``"ltiaas_auth.django.LtiaasMiddleware"``
in ``MIDDLEWARE`` (below ``SecurityMiddleware``, above ``CsrfViewMiddleware``) and an ``LTIAAS`` setting.

The gate is the WSGI/ASGI middleware's (:mod:`ltiaas_auth._gate`): same sources, same rules, same
rejections. See docs/django.md for the settings, the decorators, CSRF, the error reports and the checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import conf
from .decorators import launch_required, ltik_exempt
from .middleware import LtiaasMiddleware
from .user import LtiRequest, LtiUser

if TYPE_CHECKING:
    from ..config import LtiaasConfig

__all__ = ["LtiRequest", "LtiUser", "LtiaasMiddleware", "get_config", "launch_required", "ltik_exempt"]


def get_config() -> LtiaasConfig:
    """The ``LtiaasConfig`` built from the ``LTIAAS`` setting, the one the middleware's launches carry
    (for an API client, a job's ``service_context``…). A setting change gives a new one."""
    return conf.current().config
