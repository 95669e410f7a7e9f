"""``RedisIdtokenStore``: the idtoken cache shared by every worker process, on Redis (redis-py).

What is stored, under a key prefix (``<key>`` is an HMAC of the ltik under the API key and origin, made by
the idtoken cache; never the ltik, never the API key):

- ``<prefix>idtoken:<key>``: the idtoken entry (the idtoken as JSON, exactly as LTIAAS returned it,
  ``services.serviceKey`` included, behind an HMAC that binds it to its key), expiring with Redis's own TTL
  at ``min(idtoken_ttl, time the ltik has left)``;
- ``<prefix>refused:<key>``: a refusal (an HMAC), for ``refusal_ttl`` seconds after LTIAAS refused the ltik;
- ``<prefix>lock:<key>``: a random token while one process fetches (``SET NX PX``, at most the fetch
  deadline);
- ``<prefix>failed:<key>``: the token of a holder whose fetch failed, for a second, so waiting workers
  stop polling at once.

The store uses redis-py's synchronous client: every call to it happens in the thread that also fetches
from LTIAAS (a worker thread of ltiaas_auth's own pool for ``aidtoken()``), so event loops are never
blocked.
"""

from __future__ import annotations

import secrets
from typing import cast

import redis

from .stores import StoreLook

__all__ = ["RedisIdtokenStore"]

# Delete the lock only if our token still holds it: a lock that expired and was taken by another
# process must not be released by us.
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
# The same, then publish the failure: KEYS = lock, failed; ARGV = token, milliseconds.
_FAIL = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end "
    "redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[2]) return 1"
)


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

    def get(self, key: str) -> str | None:
        return _text(self.client.get(self._name("idtoken", key)))

    def set(self, key: str, value: str, ttl: float) -> None:
        self.client.set(self._name("idtoken", key), value, px=_ms(ttl))

    def refuse(self, key: str, value: str, ttl: float) -> None:
        self.client.set(self._name("refused", key), value, px=_ms(ttl))

    def look(self, key: str) -> StoreLook:
        names = [self._name(kind, key) for kind in ("idtoken", "refused", "lock", "failed")]
        values = cast("list[bytes | None]", self.client.mget(names))
        return StoreLook(*(_text(value) for value in values))

    def lock(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(16)
        taken = self.client.set(self._name("lock", key), token, nx=True, px=_ms(ttl))
        return token if taken else None

    def unlock(self, key: str, token: str) -> None:
        self.client.eval(_UNLOCK, 1, self._name("lock", key), token)

    def fail(self, key: str, token: str, ttl: float) -> None:
        self.client.eval(_FAIL, 2, self._name("lock", key), self._name("failed", key), token, _ms(ttl))

    def _name(self, kind: str, key: str) -> str:
        return f"{self.prefix}{kind}:{key}"


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None
