"""The credentials a context can hold: a launch, a service key, or the API key alone.

Each is immutable and holds its parts (the config, the ltik or the service key), never its whole
``Authorization`` value: that is built by ``authorization`` at the moment it is sent, so no attribute or
local variable that a ``capture_locals`` traceback prints ever holds the API key joined to a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._raised import record as record_raised
from .config import check_config
from .errors import LtiaasAuthError
from .headers import (
    LAUNCH_SCHEME,
    SERVICE_SCHEME,
    bearer_authorization,
    ltik_authorization,
    service_authorization,
)
from .idtoken import on_event_loop
from .ltik import Ltik

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = ["ApiKeyCredential", "Credential", "Launch", "ServiceCredential"]


class Credential:
    """What an outbound LTIAAS call authenticates with, and the config (origin, key) it belongs to."""

    __slots__ = ("config",)

    config: LtiaasConfig

    def __init__(self, config: LtiaasConfig) -> None:
        self.config = check_config(config)

    @property
    def authorization(self) -> str:
        """The ``Authorization`` value, built now (never kept)."""
        raise NotImplementedError

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError(f"{type(self).__name__} is immutable")
        super().__setattr__(name, value)

    def __repr__(self) -> str:  # also for a half-built instance (a failed __init__ in a traceback)
        config = getattr(self, "config", None)
        return f"{type(self).__name__}(base_url={getattr(config, 'base_url', None)!r})"


class ApiKeyCredential(Credential):
    """``Bearer <API_KEY>``, for endpoints tied to no launch."""

    __slots__ = ()

    def __init__(self, config: LtiaasConfig) -> None:
        super().__init__(config)

    @property
    def authorization(self) -> str:
        return bearer_authorization(self.config.api_key)


class ServiceCredential(Credential):
    """``SERVICE-AUTH-V1``, for work outside a launch (cron jobs, workers)."""

    __slots__ = ("_service_key",)

    _service_key: str

    def __init__(self, config: LtiaasConfig, service_key: str) -> None:
        super().__init__(config)
        service_authorization(self.config.api_key, service_key)  # refuses a bad key now, not when sent
        self._service_key = service_key

    @property
    def authorization(self) -> str:
        return f"{SERVICE_SCHEME} {self.config.api_key}:{self._service_key}"  # both checked on creation


class Launch(Credential):
    """One LTI launch: its ltik, the config it was made under, and its idtoken (fetched once, cached).

    ``cache_key`` is the key of its idtoken in the config's caches: an HMAC of the ltik under the API key
    and origin."""

    __slots__ = ("cache_key", "ltik")

    ltik: Ltik
    cache_key: str

    def __init__(self, config: LtiaasConfig, ltik: Ltik) -> None:
        super().__init__(config)
        if not isinstance(ltik, Ltik):
            raise TypeError(f"ltik must be a parsed Ltik, not {type(ltik).__name__}.")
        ltik_authorization(self.config.api_key, ltik)  # refuses a bad token now, not when sent
        self.ltik = ltik
        self.cache_key = self.config._idtokens.key_of(ltik.raw)

    @property
    def authorization(self) -> str:
        return f"{LAUNCH_SCHEME} {self.config.api_key}:{self.ltik.raw}"  # both checked on creation

    def __repr__(self) -> str:
        ltik, config = getattr(self, "ltik", None), getattr(self, "config", None)
        fingerprint = getattr(ltik, "fingerprint", None)
        return f"Launch(ltik={fingerprint!r}, base_url={getattr(config, 'base_url', None)!r})"

    def idtoken(self) -> dict[str, Any]:
        """The launch's idtoken, from the config's cache or fetched once from LTIAAS.

        The dict is shared with the cache: treat it as read-only. Raises ``ExpiredLtik`` without a network
        call once the ltik has expired, ``LtikRefused`` when LTIAAS refused the ltik (now, or within
        ``refusal_ttl``), ``UpstreamError`` when LTIAAS cannot provide it within ``2 x timeout + 1`` s, and
        ``RuntimeError`` on a thread running an asyncio or trio event loop (use ``await aidtoken()``).
        """
        if on_event_loop():
            raise RuntimeError(
                "Launch.idtoken() would block the running event loop; use 'await launch.aidtoken()'."
            )
        try:
            return self.config._idtokens.get(self)
        except LtiaasAuthError as error:
            record_raised(error)  # a follower's error was made in its leader's request
            raise

    async def aidtoken(self) -> dict[str, Any]:
        """``idtoken()`` for asyncio and trio code: the fetch runs on ltiaas_auth's own worker threads, the
        loop keeps serving, and the wait is limited to ``2 x timeout + 1`` seconds."""
        try:
            return await self.config._idtokens.aget(self)
        except LtiaasAuthError as error:
            record_raised(error)  # made on a worker thread, or in another request's fetch
            raise

    def service_key(self) -> str | None:
        """The idtoken's ``services.serviceKey`` (present when the launch has AGS or NRPS), or None."""
        return _service_key(self.idtoken())

    async def aservice_key(self) -> str | None:
        return _service_key(await self.aidtoken())


def _service_key(idtoken: dict[str, Any]) -> str | None:
    services = idtoken.get("services")
    key = services.get("serviceKey") if isinstance(services, dict) else None
    return key if isinstance(key, str) and key else None
