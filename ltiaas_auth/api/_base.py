"""What both clients share besides the endpoints: the config, the retry policy, where platforms live."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ..config import LtiaasConfig
from ._exchange import RetryPolicy
from ._http import httpx
from ._request import Request, build, check_platforms_path

if TYPE_CHECKING:
    from ..credentials import Credential
    from ._endpoints import Call

__all__ = ["ClientBase", "httpx_timeout"]


class ClientBase:
    """What both clients hold: the config, the retry policy and where platforms live."""

    def __init__(
        self,
        config: LtiaasConfig,
        *,
        max_retries: int = 2,
        max_retry_wait: float = 30.0,
        platforms_path: str = "/admin/platforms",
    ) -> None:
        if not isinstance(config, LtiaasConfig):
            raise TypeError("config must be an LtiaasConfig.")
        self.config = config
        self.retry = RetryPolicy(max_retries, max_retry_wait)
        self.platforms_path = check_platforms_path(platforms_path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r})"

    def _request(self, call: Call[Any], credential: Credential, next_url: str | None = None) -> Request:
        return build(call, self.config, credential, platforms_path=self.platforms_path, next_url=next_url)


@functools.lru_cache(maxsize=64)
def httpx_timeout(seconds: float) -> httpx.Timeout:
    """httpx's timeout object for ``seconds`` (most calls use the config's: made once)."""
    return httpx.Timeout(seconds)
