"""The idtoken cache: one upstream fetch per launch, shared by threads and asyncio tasks alike.

Entries are keyed by the ltik's SHA-256 (never the token) and live ``min(idtoken_ttl, time the ltik has
left)``. Concurrent callers for one launch share a single in-flight fetch, a ``concurrent.futures.Future``
that threads wait on and tasks await, so the same fetch serves both. Failures are never cached.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from cachetools import TLRUCache

from .errors import ExpiredLtik, UpstreamError
from .service_keys import record_service_key
from .upstream import get_json

if TYPE_CHECKING:
    from .config import LtiaasConfig
    from .credentials import Launch
    from .stores import IdtokenStore

__all__ = ["CacheInfo", "IdtokenCache"]

log = logging.getLogger("ltiaas_auth")

IDTOKEN_PATH = "/api/idtoken"
_POLL = 0.025  # seconds between looks at the shared store while another process fetches

_Entry = tuple[dict[str, Any], float]  # (idtoken, Ltik.expiry)


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
        store = config.idtoken_store
        self._store = _GuardedStore(store) if store is not None else None

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
        # Before registering a fetch: outside asyncio this raises, and nothing is left behind.
        loop = asyncio.get_running_loop()
        found = self._lookup(launch)
        if isinstance(found, dict):
            return found
        future, leader = found
        if leader:
            # The worker thread settles the future even if this task is cancelled meanwhile. Should the
            # executor refuse the work (shut down, say), the waiters are failed rather than stranded.
            try:
                loop.run_in_executor(None, self._settle, launch, future)
            except BaseException as error:
                self._abandon(launch.ltik.digest, future, error)
                raise
        return await asyncio.wrap_future(future)

    def _lookup(self, launch: Launch) -> dict[str, Any] | tuple[Future[dict[str, Any]], bool]:
        """The cached idtoken, or the in-flight fetch to wait on and whether this caller must run it."""
        ltik = launch.ltik
        if ltik.expired(self._config.clock(), leeway=self._config.leeway):
            raise ExpiredLtik()
        key = ltik.digest
        with self._lock:
            try:  # not .get(): cachetools' get() looks the key up twice
                idtoken = self._entries[key][0]
            except KeyError:
                pass
            else:
                self._hits += 1
                return idtoken
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
        try:
            idtoken, fetched = self._load(launch)
        except BaseException as error:
            with self._lock:
                self._fetches += 1
            self._abandon(key, future, error)
            if not isinstance(error, Exception):
                raise
            return
        with self._lock:
            self._fetches += fetched
            self._entries[key] = (idtoken, launch.ltik.expiry)
            self._inflight.pop(key, None)
        if fetched and self._config.service_keys is not None:
            record_service_key(self._config.service_keys, idtoken, launch)
        future.set_result(idtoken)

    def _abandon(self, key: str, future: Future[dict[str, Any]], error: BaseException) -> None:
        with self._lock:
            self._inflight.pop(key, None)
        future.set_exception(error)

    def _load(self, launch: Launch) -> tuple[dict[str, Any], bool]:
        """The idtoken, and whether it came from LTIAAS (True) rather than the shared store.

        With a shared store, one process fetches while the others wait for the value to appear; a
        failing store, or a lock holder that never delivers, falls back to a direct fetch.
        """
        store = self._store
        if store is None:
            return self._fetch(launch), True
        key = launch.ltik.digest
        found = store.call(store.store.get, key)
        if found is not None:
            return found, False
        lock = store.call(store.store.lock, key, self._fetch_limit())
        if lock is None:
            found = self._wait_for(store, key)
            return (found, False) if found is not None else (self._fetch(launch), True)
        try:
            found = store.call(store.store.get, key)  # filled between our first look and the lock?
            if found is not None:
                return found, False
            idtoken = self._fetch(launch)
            ttl = self._ttl(launch)
            if ttl > 0:
                store.call(store.store.set, key, idtoken, ttl)
            return idtoken, True
        finally:
            store.call(store.store.unlock, key, lock)

    def _fetch(self, launch: Launch) -> dict[str, Any]:
        log.debug("fetching the idtoken of ltik %s", launch.ltik.fingerprint)
        return get_json(self._config, IDTOKEN_PATH, launch.authorization)

    def _wait_for(self, store: _GuardedStore, key: str) -> dict[str, Any] | None:
        deadline = time.monotonic() + self._fetch_limit()
        while time.monotonic() < deadline and store.usable():
            time.sleep(_POLL)
            found = store.call(store.store.get, key)
            if found is not None:
                return found
        return None

    def _ttl(self, launch: Launch) -> float:
        left = launch.ltik.seconds_left(self._config.clock())
        return self._config.idtoken_ttl if left is None else min(self._config.idtoken_ttl, left)

    def _fetch_limit(self) -> float:
        # urllib's timeout bounds each socket operation; a fetch makes a few of them.
        return self._config.timeout * 2 + 1

    def _wait_limit(self) -> float:
        # A follower in this process waits for the leader, who may first wait for another process.
        return self._fetch_limit() * 2 + 1


T = TypeVar("T")


class _GuardedStore:
    """A shared store whose failures never reach a request: the first failure of an outage logs one
    warning, and the store is then skipped for ``retry_after`` seconds before it is tried again."""

    def __init__(self, store: IdtokenStore, retry_after: float = 5.0) -> None:
        self.store = store
        self._retry_after = retry_after
        self._down_until: float | None = None

    def usable(self) -> bool:
        return self._down_until is None or time.monotonic() >= self._down_until

    def call(self, method: Callable[..., T], *args: Any) -> T | None:
        if not self.usable():
            return None
        try:
            result = method(*args)
        except Exception as error:
            if self._down_until is None:
                log.warning(
                    "the shared idtoken store failed (%s); fetching from LTIAAS directly until it recovers",
                    type(error).__name__,
                )
            self._down_until = time.monotonic() + self._retry_after
            return None
        if self._down_until is not None:
            self._down_until = None
            log.info("the shared idtoken store has recovered")
        return result
