"""The protocol of a shared idtoken store: a cache several processes (or machines) read and fill together.

The per-process in-memory cache is the default and needs nothing; a shared store sits behind it, so a
launch's idtoken is fetched from LTIAAS once across every worker, a refusal is remembered by all of them,
and a failed fetch is known to every waiting worker at once. ``RedisIdtokenStore`` (in
``ltiaas_auth.redis_store``, extra ``redis``) is the one that ships.

The store is deliberately dumb: keys and values are opaque strings made by the idtoken cache. A key is an
HMAC of the ltik under the API key and origin, so it names one account's entry and cannot be computed
without the API key; a value carries an HMAC of itself and its key, so a value written by anyone without
the API key (or copied from another key) is never served. The store only has to keep strings with a
lifetime and offer a lock per key.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["IdtokenStore", "StoreLook"]


class StoreLook(NamedTuple):
    """Everything a waiting worker needs about one key, read at once.

    ``value``: the idtoken entry (or None); ``refusal``: the refusal entry (or None); ``holder``: the
    token of the lock's current holder (None when nobody holds it); ``failed``: the token of the last
    holder whose fetch failed, while that is remembered (None otherwise).
    """

    value: str | None
    refusal: str | None
    holder: str | None
    failed: str | None


@runtime_checkable
class IdtokenStore(Protocol):
    """A shared cache of idtokens and refusals with a short lock per key for cross-process single flight.

    Any method may raise: the cache then logs one warning, skips the store for a while and fetches from
    LTIAAS directly, so a failing store never fails a request.
    """

    def get(self, key: str) -> str | None:
        """The idtoken entry stored under ``key``, or None."""

    def set(self, key: str, value: str, ttl: float) -> None:
        """Store the idtoken entry ``value`` under ``key`` for ``ttl`` seconds."""

    def refuse(self, key: str, value: str, ttl: float) -> None:
        """Remember for ``ttl`` seconds that LTIAAS refused the ltik of ``key`` (``value``: the entry)."""

    def look(self, key: str) -> StoreLook:
        """The idtoken entry, the refusal entry, the lock holder and the last failed holder of ``key``, in
        one round trip (a waiting worker polls this)."""

    def lock(self, key: str, ttl: float) -> str | None:
        """Take the fetch lock of ``key`` for ``ttl`` seconds at most: a token to unlock with, or None."""

    def unlock(self, key: str, token: str) -> None:
        """Release the lock of ``key`` if ``token`` still holds it."""

    def fail(self, key: str, token: str, ttl: float) -> None:
        """Release the lock of ``key`` if ``token`` still holds it, and remember for ``ttl`` seconds that
        this holder failed, so the workers waiting on it stop at once."""
