"""The idtoken cache: one upstream fetch per launch, shared by threads and asyncio tasks alike.

Entries are keyed by the ltik's SHA-256 (never the token) and live ``min(idtoken_ttl, time the ltik has
left)``. Concurrent callers for one launch share a single in-flight fetch, a ``concurrent.futures.Future``
that threads wait on and tasks await, so the same fetch serves both. Failures are never cached.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, NamedTuple

from cachetools import TLRUCache

from .errors import ExpiredLtik, UpstreamError
from .upstream import get_json

if TYPE_CHECKING:
    from .config import LtiaasConfig
    from .credentials import Launch

__all__ = ["CacheInfo", "IdtokenCache"]

log = logging.getLogger("ltiaas_auth")

IDTOKEN_PATH = "/api/idtoken"

_Entry = tuple[dict[str, Any], float]  # (idtoken, POSIX time the ltik expires or +inf)


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    fetches: int
    size: int


class IdtokenCache:
    """The cache a ``LtiaasConfig`` owns; reached through ``Launch.idtoken()`` and ``aidtoken()``."""

    def __init__(self, config: LtiaasConfig) -> None:
        self._config = config
        ttl = config.idtoken_ttl
        self._entries: TLRUCache[str, _Entry] = TLRUCache(
            maxsize=config.cache_size,
            ttu=lambda _key, entry, now: min(now + ttl, entry[1]),
            timer=config.clock,
        )
        self._inflight: dict[str, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._hits = self._misses = self._fetches = 0

    def info(self) -> CacheInfo:
        with self._lock:
            self._entries.expire()
            return CacheInfo(self._hits, self._misses, self._fetches, len(self._entries))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, launch: Launch) -> dict[str, Any]:
        found = self._lookup(launch)
        if isinstance(found, dict):
            return found
        future, leader = found
        if leader:
            self._settle(launch, future)
        try:
            return future.result(timeout=self._wait_limit())
        except TimeoutError:
            raise UpstreamError("Timed out waiting for LTIAAS.") from None

    async def aget(self, launch: Launch) -> dict[str, Any]:
        found = self._lookup(launch)
        if isinstance(found, dict):
            return found
        future, leader = found
        if leader:
            # The worker thread settles the future even if this task is cancelled meanwhile.
            asyncio.get_running_loop().run_in_executor(None, self._settle, launch, future)
        return await asyncio.wrap_future(future)

    def _lookup(self, launch: Launch) -> dict[str, Any] | tuple[Future[dict[str, Any]], bool]:
        """The cached idtoken, or the in-flight fetch to wait on and whether this caller must run it."""
        ltik = launch.ltik
        if ltik.expired(self._config.clock(), leeway=self._config.leeway):
            raise ExpiredLtik()
        key = ltik.digest
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._hits += 1
                return entry[0]
            self._misses += 1
            future = self._inflight.get(key)
            if future is not None:
                return future, False
            future = Future()
            future.set_running_or_notify_cancel()  # a waiter's cancellation must not cancel the shared fetch
            self._inflight[key] = future
            return future, True

    def _settle(self, launch: Launch, future: Future[dict[str, Any]]) -> None:
        key = launch.ltik.digest
        log.debug("fetching the idtoken of ltik %s", launch.ltik.fingerprint)
        try:
            idtoken = get_json(self._config, IDTOKEN_PATH, launch.authorization)
        except BaseException as error:
            with self._lock:
                self._fetches += 1
                self._inflight.pop(key, None)
            future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        expires_at = launch.ltik.expires_at
        with self._lock:
            self._fetches += 1
            self._entries[key] = (idtoken, expires_at.timestamp() if expires_at else math.inf)
            self._inflight.pop(key, None)
        future.set_result(idtoken)

    def _wait_limit(self) -> float:
        # A follower waits for the leader's fetch; urllib's timeout is per socket operation, so allow a few.
        return self._config.timeout * 3 + 1
