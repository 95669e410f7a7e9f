"""The idtoken cache: one upstream fetch per launch, shared by threads, asyncio and trio tasks alike.

Keys are bound to the config: an HMAC of the ltik under the API key and origin, never the token nor its
bare hash, so two LTIAAS accounts sharing a Redis never read each other's entries, and entries in a shared
store also carry an HMAC of their value, so nothing written there by someone without the API key is ever
served. Entries live ``min(idtoken_ttl, time the ltik has left)``, bounded in number (``cache_size``) and
in bytes (``cache_max_bytes``, shared with the middleware's parsed ltiks).

Concurrent callers for one launch share a single in-flight fetch (a ``concurrent.futures.Future`` that
threads wait on and tasks await) with a deadline of ``2 x timeout + 1`` seconds: nobody waits longer, and
the first caller after the deadline starts a fresh fetch. Async callers offload the fetch to this module's
own bounded thread pool (never the event loop's default executor) and wait without occupying any thread.
A waiter always gets an exception of its own: a copy of the leader's ``LtiaasAuthError``, or an
``UpstreamError`` when the leader was interrupted by a ``BaseException``, which only the leader sees.

Failures are never cached, with one exception: an ltik LTIAAS refused (``LtikRefused``) is refused
locally, and through the shared store by every worker, for ``refusal_ttl`` seconds, so a flood of one
forged token costs LTIAAS one call. Across processes a failed fetch is published at once: the workers
waiting on it stop polling and answer with an ``UpstreamError`` of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hmac
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from ._lru import Budget, SizedCache, footprint
from .errors import ExpiredLtik, LtiaasAuthError, LtikRefused, UpstreamError
from .service_keys import record_service_key
from .upstream import deadline_for, get_json

if TYPE_CHECKING:
    from .config import LtiaasConfig
    from .credentials import Launch
    from .stores import IdtokenStore

__all__ = ["CacheInfo", "IdtokenCache", "on_event_loop"]

log = logging.getLogger("ltiaas_auth")

IDTOKEN_PATH = "/api/idtoken"
_POLL = 0.025  # seconds between looks at the shared store while another process fetches
_FAILED_TTL = 1.0  # how long a failed holder stays published: many polls, far less than any deadline
_POOL_SIZE = 32  # threads fetching for async callers at once, per process
_ENTRY_BYTES = 256  # what an entry costs beyond its value: the key string, the entry, the dict slot
_SEAL = "v1."

_Idtoken = dict[str, Any]


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    fetches: int
    size: int


def on_event_loop() -> bool:
    """Whether this thread runs an asyncio or a trio event loop (where blocking would stall it).

    Called on every sync ``idtoken()``, so it must stay cheap once trio is imported (httpcore imports it
    whenever it is installed): see ``_in_trio_run``."""
    if asyncio._get_running_loop() is not None:
        return True
    return "trio" in sys.modules and _in_trio_run()


def _in_trio_run() -> bool:
    """``trio.lowlevel.in_trio_run()``, without its cost outside a run.

    Trio answers ``hasattr(GLOBAL_RUN_CONTEXT, "runner")`` on a ``threading.local``: outside a run that
    raises and swallows an ``AttributeError``, about 0.6 µs, more than the rest of a cached read. The
    same question asked of the thread's own ``__dict__`` is one dict lookup. Used only when trio's run
    context is the ``threading.local`` that answer relies on; otherwise trio's public function is."""
    probe = _TrioProbe.probe
    if probe is None:
        probe = _TrioProbe.probe = _trio_probe()
    return probe()


class _TrioProbe:
    probe: Callable[[], bool] | None = None


def _trio_probe() -> Callable[[], bool]:
    import trio

    public: Callable[[], bool] = trio.lowlevel.in_trio_run
    context = getattr(getattr(getattr(trio, "_core", None), "_run", None), "GLOBAL_RUN_CONTEXT", None)
    if not isinstance(context, threading.local) or hasattr(type(context), "runner"):
        return public  # not the layout this shortcut knows: trio's own answer, whatever it costs

    def probe() -> bool:
        return "runner" in context.__dict__

    return probe


class _Flight:
    """One fetch in progress: its result for every waiter, and the moment nobody waits for it any more."""

    __slots__ = ("deadline", "future")

    def __init__(self, limit: float) -> None:
        self.future: Future[_Idtoken] = Future()
        self.future.set_running_or_notify_cancel()  # a waiter's cancellation must not cancel the fetch
        self.deadline = time.monotonic() + limit


class IdtokenCache:
    """The cache a ``LtiaasConfig`` owns; reached through ``Launch.idtoken()`` and ``aidtoken()``."""

    def __init__(self, config: LtiaasConfig) -> None:
        self._config = config
        secret = hmac.digest(
            config.api_key.encode(), b"ltiaas_auth idtoken cache\0" + config.base_url.encode(), "sha256"
        )
        self._key_secret = hmac.digest(secret, b"key", "sha256")
        self._value_secret = hmac.digest(secret, b"value", "sha256")
        #: The bytes this config's caches may hold together (the middleware's parsed ltiks join it).
        self.budget = Budget(config.cache_max_bytes)
        self._entries: SizedCache[str, _Idtoken] = SizedCache(self.budget, config.cache_size, config.clock)
        self._warm = self._entries.get
        self._refusals: SizedCache[str, bool] = SizedCache(self.budget, config.cache_size, config.clock)
        self._inflight: dict[str, _Flight] = {}
        self._lock = threading.Lock()
        self._hits = self._misses = self._fetches = 0
        store = config.idtoken_store
        self._store = _GuardedStore(store) if store is not None else None

    def key_of(self, raw: str) -> str:
        """The cache key of the ltik ``raw``: an HMAC under this config's API key and origin."""
        return hmac.digest(self._key_secret, raw.encode("ascii"), "sha256").hex()

    def info(self) -> CacheInfo:
        self._entries.expire()
        with self._lock:
            return CacheInfo(self._hits, self._misses, self._fetches, len(self._entries))

    def clear(self) -> None:
        self._entries.clear()
        self._refusals.clear()

    def get(self, launch: Launch) -> _Idtoken:
        idtoken = self._warm(launch.cache_key)
        if idtoken is not None:
            self._hits += 1
            return idtoken
        found = self._join(launch)
        if isinstance(found, dict):
            return found
        flight, leader = found
        if leader:
            self._run(launch, flight)
        if not _wait_sync(flight.future, flight.deadline - time.monotonic()):
            raise self._timed_out()
        return _outcome(flight.future)

    async def aget(self, launch: Launch) -> _Idtoken:
        idtoken = self._warm(launch.cache_key)
        if idtoken is not None:
            self._hits += 1
            return idtoken
        wait = _waiter()  # before registering a fetch: outside asyncio and trio this raises, leaving nothing
        found = self._join(launch)
        if isinstance(found, dict):
            return found
        flight, leader = found
        awaited: Future[Any] = flight.future
        if leader:
            try:
                # The leader waits for the whole run, its service key recorded too (as a sync leader
                # does); the followers only for the idtoken.
                awaited = _pool().submit(self._run, launch, flight)
            except BaseException:  # the pool refuses work (interpreter shutdown): fail, never strand
                self._settle(launch.cache_key, flight, error=UpstreamError("Could not start the fetch."))
                raise
        await wait(awaited, flight.deadline - time.monotonic())
        if not flight.future.done():
            raise self._timed_out()
        return _outcome(flight.future)

    def _join(self, launch: Launch) -> _Idtoken | tuple[_Flight, bool]:
        """The cached idtoken, or the in-flight fetch to wait on and whether this caller must run it.

        Raises ``ExpiredLtik`` without a network call once the ltik has expired, and ``LtikRefused`` for
        an ltik LTIAAS refused within ``refusal_ttl``."""
        config = self._config
        if launch.ltik.expired(config.clock(), leeway=config.leeway):
            raise ExpiredLtik()
        key = launch.cache_key
        with self._lock:
            idtoken = self._entries.get(key)
            if idtoken is not None:
                self._hits += 1
                return idtoken
            self._misses += 1
            if self._refusals.get(key) is not None:
                raise _refused()
            flight = self._inflight.get(key)
            if flight is not None and flight.deadline > time.monotonic():
                return flight, False
            # None in flight, or one past its deadline (its leader is stuck): this caller starts afresh.
            flight = self._inflight[key] = _Flight(deadline_for(config))
            return flight, True

    def _run(self, launch: Launch, flight: _Flight) -> None:
        """Fetch (or read from the shared store) and settle ``flight``; re-raises only a BaseException,
        and only here: waiters get an ``UpstreamError`` of their own instead."""
        key = launch.cache_key
        if time.monotonic() >= flight.deadline:  # queued behind busy fetch threads until nobody waits
            self._settle(key, flight, error=self._timed_out())
            return
        try:
            idtoken, fetched = self._load(launch, flight.deadline)
        except LtikRefused as error:
            self._remember_refusal(key)
            self._settle(key, flight, error=error)
            return
        except LtiaasAuthError as error:
            self._settle(key, flight, error=error)
            return
        except Exception as error:
            self._settle(
                key, flight, error=UpstreamError(f"The idtoken fetch failed ({type(error).__name__}).")
            )
            return
        except BaseException:
            self._settle(key, flight, error=UpstreamError("The idtoken fetch was interrupted; try again."))
            raise
        ttl = self._ttl(launch)
        if ttl > 0:
            size = footprint(idtoken) + _ENTRY_BYTES
            self._entries.put(key, idtoken, size, expires=self._config.clock() + ttl)
        self._settle(key, flight, result=idtoken)
        # After the waiters are released, and under no lock of ours: a slow store delays nobody else.
        if fetched and self._config.service_keys is not None:
            record_service_key(self._config.service_keys, idtoken, launch)

    def _settle(
        self, key: str, flight: _Flight, *, result: _Idtoken | None = None, error: BaseException | None = None
    ) -> None:
        with self._lock:
            if self._inflight.get(key) is flight:  # a fresh flight may have replaced a stuck one
                del self._inflight[key]
        if error is not None:
            flight.future.set_exception(error)
        else:
            flight.future.set_result(result if result is not None else {})

    def _remember_refusal(self, key: str) -> None:
        ttl = self._config.refusal_ttl
        if ttl > 0:
            self._refusals.put(key, True, _ENTRY_BYTES, expires=self._config.clock() + ttl)

    def _load(self, launch: Launch, deadline: float) -> tuple[_Idtoken, bool]:
        """The idtoken, and whether it came from LTIAAS (True) rather than the shared store.

        With a shared store, one process fetches while the others wait for its outcome; a failing store
        falls back to a direct fetch.
        """
        store = self._store
        if store is not None and store.usable():
            try:
                return self._load_shared(store, launch, deadline)
            except _StoreDown:
                pass
        return self._fetch(launch), True

    def _load_shared(self, store: _GuardedStore, launch: Launch, deadline: float) -> tuple[_Idtoken, bool]:
        key = launch.cache_key
        waited_on: str | None = None  # the holder whose fetch this worker waits for
        while True:
            look = store.call(store.store.look, key)
            idtoken = self._unseal(key, look.value)
            if idtoken is not None:
                return idtoken, False
            if look.refusal is not None and hmac.compare_digest(look.refusal, self._refusal_entry(key)):
                raise _refused()
            if waited_on is not None and look.failed == waited_on:
                raise UpstreamError("The fetch of this launch failed in another worker; try again.")
            if look.holder is None:
                token = store.call(store.store.lock, key, max(0.001, deadline - time.monotonic()))
                if token is not None:
                    return self._fetch_holding(store, launch, token)
            else:
                waited_on = look.holder
            if time.monotonic() + _POLL >= deadline:
                raise self._timed_out()
            time.sleep(_POLL)

    def _fetch_holding(self, store: _GuardedStore, launch: Launch, token: str) -> tuple[_Idtoken, bool]:
        """Fetch while holding the shared lock, then publish the outcome: the value, or the failure."""
        key = launch.cache_key
        found = self._unseal(key, store.call(store.store.get, key))  # filled between our look and lock?
        if found is not None:
            store.attempt(store.store.unlock, key, token)
            return found, False
        try:
            idtoken = self._fetch(launch)
        except LtikRefused:
            if self._config.refusal_ttl > 0:
                store.attempt(store.store.refuse, key, self._refusal_entry(key), self._config.refusal_ttl)
            store.attempt(store.store.fail, key, token, _FAILED_TTL)
            raise
        except BaseException:
            store.attempt(store.store.fail, key, token, _FAILED_TTL)
            raise
        ttl = self._ttl(launch)
        if ttl > 0:
            store.attempt(store.store.set, key, self._seal(key, idtoken), ttl)
        store.attempt(store.store.unlock, key, token)
        return idtoken, True

    def _fetch(self, launch: Launch) -> _Idtoken:
        with self._lock:
            self._fetches += 1
        log.debug("fetching the idtoken of ltik %s", launch.ltik.fingerprint)
        return get_json(self._config, IDTOKEN_PATH, launch)

    def _seal(self, key: str, idtoken: _Idtoken) -> str:
        payload = json.dumps(idtoken, separators=(",", ":"))
        return f"{_SEAL}{self._mac(key, payload)}.{payload}"

    def _unseal(self, key: str, entry: str | None) -> _Idtoken | None:
        """The idtoken of a store entry, or None when there is none or it does not carry our MAC."""
        if entry is None:
            return None
        mac, _, payload = entry.removeprefix(_SEAL).partition(".")
        if not entry.startswith(_SEAL) or not hmac.compare_digest(mac, self._mac(key, payload)):
            log.warning("ignored a shared idtoken entry that this config did not write")
            return None
        try:
            value = json.loads(payload)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _refusal_entry(self, key: str) -> str:
        return f"{_SEAL}{self._mac(key, 'refused')}"

    def _mac(self, key: str, payload: str) -> str:
        return hmac.digest(self._value_secret, f"{key}\0{payload}".encode(), "sha256").hex()

    def _ttl(self, launch: Launch) -> float:
        left = launch.ltik.seconds_left(self._config.clock())
        return self._config.idtoken_ttl if left is None else min(self._config.idtoken_ttl, left)

    def _timed_out(self) -> UpstreamError:
        return UpstreamError(f"LTIAAS did not provide the idtoken within {deadline_for(self._config):g} s.")


def _refused() -> LtikRefused:
    return LtikRefused("LTIAAS refused this ltik moments ago.", upstream_status=401)


def _outcome(future: Future[_Idtoken]) -> _Idtoken:
    """A settled flight's idtoken, or its error as this caller's own copy (never a shared instance, whose
    traceback another thread is writing)."""
    error = future.exception(timeout=0)
    if error is None:
        return future.result(timeout=0)
    own = copy.copy(error)
    own.__traceback__ = None
    raise own


def _wait_sync(future: Future[_Idtoken], timeout: float) -> bool:
    """Block until ``future`` is settled or ``timeout`` passes; whether it is settled."""
    with contextlib.suppress(Exception):  # its outcome is read by _outcome, as this caller's own copy
        future.result(timeout=max(0.0, timeout))
    return future.done()


_Wait = Callable[[Future[Any], float], Any]


def _waiter() -> _Wait:
    """How this event loop awaits a flight: a coroutine function ``wait(future, timeout) -> done``."""
    if asyncio._get_running_loop() is not None:
        return _wait_asyncio
    if "trio" in sys.modules and _in_trio_run():
        return _wait_trio
    raise RuntimeError("aidtoken() needs a running asyncio or trio event loop; call idtoken() elsewhere.")


async def _wait_asyncio(future: Future[Any], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()

    def wake(_: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
            loop.call_soon_threadsafe(_set_once, woken)

    future.add_done_callback(wake)
    try:
        await asyncio.wait_for(woken, max(0.0, timeout))
    except TimeoutError:
        return future.done()
    return True


def _set_once(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


async def _wait_trio(future: Future[Any], timeout: float) -> bool:
    import trio

    token = trio.lowlevel.current_trio_token()
    woken = trio.Event()

    def wake(_: object) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(woken.set)

    future.add_done_callback(wake)
    with trio.move_on_after(max(0.0, timeout)):
        await woken.wait()
    return future.done()


class _Pool:
    """The threads that fetch for async callers: bounded, ltiaas_auth's own (an exempt route doing a DNS
    lookup in the default executor never queues behind a slow LTIAAS), and forgotten in a forked child,
    where the parent's threads do not exist."""

    executor: ThreadPoolExecutor | None = None
    lock = threading.Lock()

    @classmethod
    def forget(cls) -> None:
        cls.executor = None
        cls.lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    executor = _Pool.executor
    if executor is None:
        with _Pool.lock:
            if _Pool.executor is None:
                _Pool.executor = ThreadPoolExecutor(_POOL_SIZE, thread_name_prefix="ltiaas_auth-idtoken")
            executor = _Pool.executor
    return executor


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Pool.forget)


T = TypeVar("T")


class _StoreDown(Exception):
    """The shared store failed or is being skipped: fetch directly."""


class _GuardedStore:
    """A shared store whose failures never reach a request: the first failure of an outage logs one
    warning, and the store is then skipped for ``retry_after`` seconds before it is tried again."""

    def __init__(self, store: IdtokenStore, retry_after: float = 5.0) -> None:
        self.store = store
        self._retry_after = retry_after
        self._down_until: float | None = None

    def usable(self) -> bool:
        return self._down_until is None or time.monotonic() >= self._down_until

    def call(self, method: Callable[..., T], *args: Any) -> T:
        """``method(*args)``; ``_StoreDown`` when the store fails or is being skipped."""
        if not self.usable():
            raise _StoreDown
        try:
            result = method(*args)
        except Exception as error:
            if self._down_until is None:
                log.warning(
                    "the shared idtoken store failed (%s); fetching from LTIAAS directly until it recovers",
                    type(error).__name__,
                )
            self._down_until = time.monotonic() + self._retry_after
            raise _StoreDown from None
        if self._down_until is not None:
            self._down_until = None
            log.info("the shared idtoken store has recovered")
        return result

    def attempt(self, method: Callable[..., object], *args: Any) -> None:
        """``method(*args)`` when the store is usable; a failure only marks it down."""
        with contextlib.suppress(_StoreDown):
            self.call(method, *args)
