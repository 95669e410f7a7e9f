"""``LtiUser``: who a launch's user is, shaped like Django's users where code asks (``is_authenticated``,
``pk``, ``get_username()``), without a database row: LTIAAS and the LMS own the account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from ..roles import Roles

if TYPE_CHECKING:
    from ..credentials import Launch

__all__ = ["LtiRequest", "LtiUser"]


class LtiRequest(HttpRequest):
    """For annotations only: an ``HttpRequest`` that went through ``LtiaasMiddleware``, so it has
    ``ltiaas`` (the launch, or None). Django never makes one: annotate ``def view(request: LtiRequest)``."""

    ltiaas: Launch | None


@dataclass(frozen=True, slots=True)
class LtiUser:
    """The idtoken's user: ``id`` (the platform's user id), ``name``, ``email``, ``roles`` (``Roles``)."""

    id: str
    name: str | None = None
    email: str | None = None
    roles: Roles = field(default_factory=Roles)

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    @classmethod
    def from_idtoken(cls, idtoken: Mapping[str, Any]) -> LtiUser:
        user = idtoken.get("user")
        user = user if isinstance(user, Mapping) else {}
        name, email = user.get("name"), user.get("email")
        return cls(
            id=str(user.get("id", "")),
            name=name if isinstance(name, str) else None,
            email=email if isinstance(email, str) else None,
            roles=Roles.from_idtoken(idtoken),
        )

    @property
    def pk(self) -> str:
        """The user id, for code that keys on ``request.user.pk`` (DRF's throttles)."""
        return self.id

    @property
    def username(self) -> str:
        return self.id

    def get_username(self) -> str:
        return self.id

    def __str__(self) -> str:
        return self.name or self.id
