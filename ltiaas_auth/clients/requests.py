"""requests: an ``AuthBase`` for ``auth=`` and a ``Session`` factory.

requests calls ``auth`` once, while preparing the request, so a foreign origin is refused before anything
is sent; on a redirect to another origin ``Session.rebuild_auth`` drops ``Authorization`` and does not call
``auth`` again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests
import requests.auth

from ..auth import authorization_for

if TYPE_CHECKING:
    from ..config import LtiaasConfig

__all__ = ["RequestsAuth", "session"]


class RequestsAuth(requests.auth.AuthBase):
    """``auth=RequestsAuth(config)``: the current credential, sent only to ``config``'s origin.

    With no config, the current credential's own config decides the origin.
    """

    def __init__(self, config: LtiaasConfig | None = None) -> None:
        self.config = config

    def __repr__(self) -> str:
        return f"RequestsAuth(config={self.config!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = authorization_for(request.url or "", self.config)
        return request


def session(config: LtiaasConfig | None = None) -> requests.Session:
    """A ``requests.Session`` whose every request carries the current credential (close it when done)."""
    http = requests.Session()
    http.auth = RequestsAuth(config)
    return http
