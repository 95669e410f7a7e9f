"""``LtiaasAuth``: one small auth hook for requests and httpx that adds the current credential's header.

Both clients accept a plain callable as ``auth=``: requests calls it with a ``PreparedRequest``, httpx (sync
and async) with an ``httpx.Request``; both have ``.url`` and ``.headers``. The hook pins the LTIAAS origin,
so the API key cannot be sent anywhere else, and it puts the credential in ``Authorization``, which both
clients strip on a redirect to another origin.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Protocol, TypeVar

from .config import check_config, origin_of
from .context import current_credential
from .errors import ForeignOriginError

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from .config import LtiaasConfig

__all__ = ["LtiaasAuth", "authorization_for"]


class _Request(Protocol):
    @property
    def url(self) -> object: ...
    @property
    def headers(self) -> MutableMapping[str, str]: ...


R = TypeVar("R", bound=_Request)


class LtiaasAuth:
    """``auth=LtiaasAuth(config)`` for requests and httpx.

    With ``config``, requests may only go to its origin, and only a current credential made under an
    equal config is sent. With no config, the current credential's own config decides. A request to any
    other origin raises ``ForeignOriginError`` before anything is sent.
    """

    __slots__ = ("config",)

    def __init__(self, config: LtiaasConfig | None = None) -> None:
        self.config = None if config is None else check_config(config)

    def __repr__(self) -> str:
        return f"LtiaasAuth(config={self.config!r})"

    def __call__(self, request: R) -> R:
        request.headers["Authorization"] = authorization_for(str(request.url), self.config)
        return request


def authorization_for(url: str, config: LtiaasConfig | None = None) -> str:
    """The current credential's ``Authorization`` value for a request to ``url``.

    The one origin check every client adapter shares: with ``config``, ``url`` must be on its origin and
    the current credential must belong to the same account (an equal API key and origin: two accounts on
    one origin never get each other's key); with none, the credential's own config decides. Anything else
    raises ``ForeignOriginError``, so the caller sends nothing.
    """
    credential = current_credential()
    own = credential.config
    config = own if config is None else check_config(config)
    if not isinstance(url, str):
        raise TypeError(f"url must be a string, not {type(url).__name__}.")
    same_account = own is config or (
        own.origin == config.origin and hmac.compare_digest(own.api_key, config.api_key)
    )
    if not same_account or origin_of(url) != config.origin:
        raise ForeignOriginError(f"Refused to send LTIAAS credentials anywhere but {config.base_url}.")
    return credential.authorization
