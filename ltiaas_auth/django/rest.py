"""Django REST framework: ``LtiaasAuthentication`` makes the launch DRF's ``request.auth`` and its user
``request.user`` (an :class:`~ltiaas_auth.django.user.LtiUser`).

.. code-block:: python

    REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["ltiaas_auth.django.rest.LtiaasAuthentication"]}

It reads what ``LtiaasMiddleware`` decided (the middleware must be installed); it never reads the ltik
itself, so there is one gate. Without a launch it authenticates nobody, and DRF's permissions answer 401
with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.authentication import BaseAuthentication

from .user import LtiUser

if TYPE_CHECKING:
    from rest_framework.request import Request

    from ..credentials import Launch

__all__ = ["LtiaasAuthentication"]


class LtiaasAuthentication(BaseAuthentication):
    """``(LtiUser, Launch)`` for a request with a launch; None without (DRF's anonymous user)."""

    def authenticate(self, request: Request) -> tuple[LtiUser, Launch] | None:
        launch: Launch | None = getattr(request._request, "ltiaas", None)
        if launch is None:
            return None
        # Cached after the middleware's prefetch; DRF views run sync (a thread under ASGI).
        return LtiUser.from_idtoken(launch.idtoken()), launch

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
