"""Caches bounded in entries and in bytes, with one byte budget shared by all the caches of a config.

An attacker can mint any number of distinct ltiks (their claims are read unverified), each up to 8 KiB and
shaped to expand in memory (a payload of a thousand tiny keys is a thousand dict entries), so a count
bound alone lets a flood of forged tokens grow a worker by gigabytes. Each entry here is charged what it
really holds (:func:`footprint`, a walk of the JSON-like value), and a ``Budget`` caps the sum over every
cache of one config: the middleware's parsed ltiks and the idtoken cache evict their least recently used
entries, oldest first across both, until the total fits.

The hit path takes no lock: an ``OrderedDict`` lookup and ``move_to_end`` are each atomic under the GIL,
and an entry evicted between the two is simply a miss.
"""

from __future__ import annotations

import itertools
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, TypeVar

__all__ = ["Budget", "Memo", "MemoInfo", "SizedCache", "footprint"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_ticks = itertools.count()  # one clock of use for every cache, so "oldest" compares across caches
_WALK_LIMIT = 100_000  # containers; JSON from an 8 KiB token or a 1 MiB idtoken stays well below it


def footprint(value: object) -> int:
    """The bytes ``value`` holds: ``sys.getsizeof`` summed over a JSON-like tree (dicts, mappings, lists,
    tuples, and the strings and numbers in them). Values shared inside the tree count once per use, which
    can only overstate; a tree of more than ``_WALK_LIMIT`` containers is charged what was counted so far
    plus the limit in bytes per container left."""
    getsizeof = sys.getsizeof
    total = 0
    stack = [value]
    walked = 0
    while stack:
        item = stack.pop()
        walked += 1
        if walked > _WALK_LIMIT:
            return total + _WALK_LIMIT * (len(stack) + 1)
        total += getsizeof(item)
        children: Iterable[object]
        if isinstance(item, dict | MappingProxyType):
            total += sum(map(getsizeof, item.keys()))
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        # Every child's own size at C speed (a container's is counted again when it is walked: an
        # overstatement of a few dozen bytes), then only the containers are walked.
        total += sum(map(getsizeof, children))
        stack.extend([child for child in children if type(child) in _CONTAINERS])
    return total


_CONTAINERS = frozenset({dict, list, tuple, MappingProxyType})


class _Entry(Generic[V]):
    __slots__ = ("expires", "size", "tick", "value")

    def __init__(self, value: V, size: int, expires: float) -> None:
        self.value = value
        self.size = size
        self.expires = expires
        self.tick = next(_ticks)


class Budget:
    """The bytes the caches of one config may hold together, and the lock their writes share."""

    __slots__ = ("__weakref__", "_members", "lock", "max_bytes", "used")

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.lock = threading.Lock()
        self._members: weakref.WeakSet[SizedCache[Any, Any]] = weakref.WeakSet()

    def join(self, cache: SizedCache[Any, Any]) -> None:
        with self.lock:
            self._members.add(cache)

    def _shrink(self) -> None:
        """Evict the least recently used entry of all members until the total fits; under ``lock``."""
        while self.used > self.max_bytes:
            oldest: SizedCache[Any, Any] | None = None
            oldest_tick = 0
            for member in self._members:
                tick = member._first_tick()
                if tick is not None and (oldest is None or tick < oldest_tick):
                    oldest, oldest_tick = member, tick
            if oldest is None:
                return
            oldest._pop_first()


class SizedCache(Generic[K, V]):
    """An LRU of at most ``maxsize`` entries, charged to ``budget``; entries may carry an expiry (on
    ``timer``'s clock) after which they are misses."""

    __slots__ = ("__weakref__", "_budget", "_data", "maxsize", "timer")

    def __init__(self, budget: Budget, maxsize: int, timer: Callable[[], float] | None = None) -> None:
        self._budget = budget
        self._data: OrderedDict[K, _Entry[V]] = OrderedDict()
        self.maxsize = maxsize
        self.timer = timer
        budget.join(self)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: K) -> V | None:
        """The live value under ``key``, or None; marks it most recently used. Takes no lock."""
        entry = self._data.get(key)
        if entry is None:
            return None
        if self.timer is not None and self.timer() >= entry.expires:
            self.pop(key)
            return None
        entry.tick = next(_ticks)
        try:  # noqa: SIM105 - contextlib.suppress costs more than the rest of this hit path
            self._data.move_to_end(key)
        except KeyError:  # evicted meanwhile by another thread: the value read is still good
            pass
        return entry.value

    def put(self, key: K, value: V, size: int, expires: float = float("inf")) -> None:
        """Keep ``value`` (charged ``size`` bytes) until ``expires``; an entry larger than the whole
        budget is not kept."""
        if size > self._budget.max_bytes:
            return
        budget = self._budget
        with budget.lock:
            old = self._data.pop(key, None)
            if old is not None:
                budget.used -= old.size
            self._data[key] = _Entry(value, size, expires)
            budget.used += size
            while len(self._data) > self.maxsize:
                self._pop_first()
            budget._shrink()

    def pop(self, key: K) -> None:
        with self._budget.lock:
            entry = self._data.pop(key, None)
            if entry is not None:
                self._budget.used -= entry.size

    def clear(self) -> None:
        with self._budget.lock:
            for entry in self._data.values():
                self._budget.used -= entry.size
            self._data.clear()

    def expire(self) -> None:
        """Drop every expired entry (for an exact ``len``)."""
        if self.timer is None:
            return
        now = self.timer()
        with self._budget.lock:
            for key in [key for key, entry in self._data.items() if now >= entry.expires]:
                self._budget.used -= self._data.pop(key).size

    def memoize(self, function: Callable[[K], V], size_of: Callable[[V], int]) -> Memo[K, V]:
        """``function`` with its results kept here; exceptions are never kept."""
        return Memo(self, function, size_of)

    def _first_tick(self) -> int | None:
        try:
            return self._data[next(iter(self._data))].tick
        except (StopIteration, KeyError, RuntimeError):
            return None

    def _pop_first(self) -> None:
        """Evict the least recently used entry; under the budget's lock."""
        if self._data:
            _, entry = self._data.popitem(last=False)
            self._budget.used -= entry.size


class MemoInfo(NamedTuple):
    """As ``functools.lru_cache``'s ``cache_info()``."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


class Memo(Generic[K, V]):
    """A function whose results are kept in a ``SizedCache`` (see ``SizedCache.memoize``)."""

    __slots__ = ("_function", "_size_of", "cache", "hits", "misses")

    def __init__(
        self, cache: SizedCache[K, V], function: Callable[[K], V], size_of: Callable[[V], int]
    ) -> None:
        self.cache = cache
        self._function = function
        self._size_of = size_of
        self.hits = self.misses = 0

    def __call__(self, key: K) -> V:
        found = self.cache.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        found = self._function(key)
        self.cache.put(key, found, self._size_of(found))
        return found

    def cache_info(self) -> MemoInfo:
        return MemoInfo(self.hits, self.misses, self.cache.maxsize, len(self.cache))
