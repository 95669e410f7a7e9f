"""``RedisIdtokenStore``: the idtoken cache shared by every worker process, on Redis (redis-py).

What is stored, under a key prefix: ``<prefix>idtoken:<sha256 of the ltik>`` holding the idtoken as JSON
(exactly as LTIAAS returned it, ``services.serviceKey`` included, so secure Redis accordingly), expiring
with Redis's own TTL at ``min(idtoken_ttl, time the ltik has left)``; and, while one process fetches,
``<prefix>lock:<sha256>`` holding a random token (``SET NX PX``). Never the ltik, never the API key.

The store uses redis-py's synchronous client: every call to it happens in the thread that also fetches
from LTIAAS (a worker thread for ``aidtoken()``), so event loops are never blocked.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, cast

import redis

__all__ = ["RedisIdtokenStore"]

# Delete the lock only if our token still holds it: a lock that expired and was taken by another
# process must not be released by us.
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisIdtokenStore:
    """Give it to ``LtiaasConfig(..., idtoken_store=RedisIdtokenStore.from_url("redis://…"))``."""

    def __init__(self, client: redis.Redis, *, prefix: str = "ltiaas_auth:") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "ltiaas_auth:", timeout: float = 1.0) -> RedisIdtokenStore:
        """A store on a new client for ``url``, with short socket timeouts so an outage fails fast."""
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, prefix=prefix)

    def __repr__(self) -> str:  # the client's repr may carry a password
        return f"RedisIdtokenStore(prefix={self.prefix!r})"

    def get(self, key: str) -> dict[str, Any] | None:
        raw = cast("bytes | None", self.client.get(self._idtoken(key)))
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    def set(self, key: str, idtoken: dict[str, Any], ttl: float) -> None:
        value = json.dumps(idtoken, separators=(",", ":"))
        self.client.set(self._idtoken(key), value, px=max(1, int(ttl * 1000)))

    def lock(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(16)
        taken = self.client.set(self._lock(key), token, nx=True, px=max(1, int(ttl * 1000)))
        return token if taken else None

    def unlock(self, key: str, token: str) -> None:
        self.client.eval(_UNLOCK, 1, self._lock(key), token)

    def _idtoken(self, key: str) -> str:
        return f"{self.prefix}idtoken:{key}"

    def _lock(self, key: str) -> str:
        return f"{self.prefix}lock:{key}"
