"""The credentials a context can hold: a launch, a service key, or the API key alone.

Each is immutable and carries its ready-built ``Authorization`` value, so reading the current header is
one attribute access.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .headers import bearer_authorization, ltik_authorization, service_authorization
from .ltik import Ltik

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = ["ApiKeyCredential", "Credential", "Launch", "ServiceCredential"]


class Credential:
    """What an outbound LTIAAS call authenticates with, and the config (origin, key) it belongs to."""

    __slots__ = ("authorization", "config")

    config: LtiaasConfig
    authorization: str

    def __init__(self, config: LtiaasConfig, authorization: str) -> None:
        self.config = config
        self.authorization = authorization

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError(f"{type(self).__name__} is immutable")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r})"


class ApiKeyCredential(Credential):
    """``Bearer <API_KEY>``, for endpoints tied to no launch."""

    __slots__ = ()

    def __init__(self, config: LtiaasConfig) -> None:
        super().__init__(config, bearer_authorization(config.api_key))


class ServiceCredential(Credential):
    """``SERVICE-AUTH-V1``, for work outside a launch (cron jobs, workers)."""

    __slots__ = ()

    def __init__(self, config: LtiaasConfig, service_key: str) -> None:
        super().__init__(config, service_authorization(config.api_key, service_key))


class Launch(Credential):
    """One LTI launch: its ltik, the config it was made under, and its idtoken (fetched once, cached)."""

    __slots__ = ("ltik",)

    ltik: Ltik

    def __init__(self, config: LtiaasConfig, ltik: Ltik) -> None:
        super().__init__(config, ltik_authorization(config.api_key, ltik))
        self.ltik = ltik

    def __repr__(self) -> str:
        return f"Launch(ltik={self.ltik.fingerprint!r}, base_url={self.config.base_url!r})"

    def idtoken(self) -> dict[str, Any]:
        """The launch's idtoken, from the config's cache or fetched once from LTIAAS.

        The dict is shared with the cache: treat it as read-only. Raises ``ExpiredLtik`` without a network
        call once the ltik has expired, ``UpstreamError`` when LTIAAS refuses or cannot be reached, and
        ``RuntimeError`` on a thread running an event loop (use ``await aidtoken()`` there).
        """
        if asyncio._get_running_loop() is not None:
            raise RuntimeError(
                "Launch.idtoken() would block the running event loop; use 'await launch.aidtoken()'."
            )
        return self.config._idtokens.get(self)

    async def aidtoken(self) -> dict[str, Any]:
        """``idtoken()`` for asyncio code: the fetch runs in a worker thread, the loop keeps serving."""
        return await self.config._idtokens.aget(self)

    def service_key(self) -> str | None:
        """The idtoken's ``services.serviceKey`` (present when the launch has AGS or NRPS), or None."""
        return _service_key(self.idtoken())

    async def aservice_key(self) -> str | None:
        return _service_key(await self.aidtoken())


def _service_key(idtoken: dict[str, Any]) -> str | None:
    services = idtoken.get("services")
    key = services.get("serviceKey") if isinstance(services, dict) else None
    return key if isinstance(key, str) and key else None
