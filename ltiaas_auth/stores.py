"""The protocol of a shared idtoken store: a cache several processes (or machines) read and fill together.

The per-process in-memory cache is the default and needs nothing; a shared store sits behind it, so a
launch's idtoken is fetched from LTIAAS once across every worker. ``RedisIdtokenStore`` (in
``ltiaas_auth.redis_store``, extra ``redis``) is the one that ships. Keys are hex SHA-256 digests of the
ltik, never the ltik itself.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["IdtokenStore"]


@runtime_checkable
class IdtokenStore(Protocol):
    """A shared cache of idtokens with a short lock per key for cross-process single flight.

    Any method may raise: the cache then logs one warning, skips the store for a while and fetches from
    LTIAAS directly, so a failing store never fails a request.
    """

    def get(self, key: str) -> dict[str, Any] | None:
        """The idtoken stored under ``key``, or None."""

    def set(self, key: str, idtoken: dict[str, Any], ttl: float) -> None:
        """Store ``idtoken`` under ``key`` for ``ttl`` seconds."""

    def lock(self, key: str, ttl: float) -> str | None:
        """Take the fetch lock of ``key`` for ``ttl`` seconds at most: a token to unlock with, or None."""

    def unlock(self, key: str, token: str) -> None:
        """Release the lock of ``key`` if ``token`` still holds it."""
