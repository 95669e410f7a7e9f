"""``LtiaasConfig``: the API key, the only origin it may go to, and the idtoken cache that goes with them."""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._syntax import is_token68
from .errors import InvalidCredential

if TYPE_CHECKING:
    from .idtoken import CacheInfo, IdtokenCache
    from .service_keys import ServiceKeyStore
    from .stores import IdtokenStore

__all__ = ["LtiaasConfig", "Origin"]

#: (scheme, host, port): what a URL must match for the API key to be sent to it.
Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, eq=True)
class LtiaasConfig:
    """Where LTIAAS is and how to talk to it.

    ``api_key`` is a server-side secret: it is never shown by ``repr``/``str`` and is only ever sent to
    ``base_url``'s origin. ``base_url`` is ``https://…``, or ``http://`` to a loopback host only.
    ``idtoken_ttl``, ``ltik_max_age``, ``leeway`` and ``timeout`` are seconds; ``cache_size`` bounds the
    idtoken cache this config owns. ``clock`` returns the POSIX time; inject one in tests.
    ``service_keys``, a ``ServiceKeyStore``, records every launch's service key as its idtoken is fetched,
    so jobs outside a launch can call LTIAAS later. ``idtoken_store``, an ``IdtokenStore`` such as
    ``RedisIdtokenStore``, shares idtokens between worker processes behind the in-memory cache.
    """

    api_key: str = field(repr=False)
    base_url: str
    idtoken_ttl: float = 3600
    cache_size: int = 10_000
    ltik_max_age: float = 86400
    leeway: float = 0
    timeout: float = 10.0
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)
    service_keys: ServiceKeyStore | None = field(default=None, compare=False, repr=False, kw_only=True)
    idtoken_store: IdtokenStore | None = field(default=None, compare=False, repr=False, kw_only=True)
    origin: Origin = field(init=False, repr=False, compare=False)
    _idtokens: IdtokenCache = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_token68(self.api_key):
            raise InvalidCredential("The API key must be a non-empty RFC 7235 token68 string.")
        base_url, origin = _check_base_url(self.base_url)
        object.__setattr__(self, "base_url", base_url)
        object.__setattr__(self, "origin", origin)
        for name in ("ltik_max_age", "timeout"):
            _check_number(name, getattr(self, name), positive=True)
        for name in ("idtoken_ttl", "leeway"):  # an idtoken_ttl of 0 turns caching off
            _check_number(name, getattr(self, name), positive=False)
        if isinstance(self.cache_size, bool) or not isinstance(self.cache_size, int) or self.cache_size < 1:
            raise ValueError("cache_size must be a positive integer.")

        from .idtoken import IdtokenCache

        object.__setattr__(self, "_idtokens", IdtokenCache(self))

    def __repr__(self) -> str:
        return (
            f"LtiaasConfig(base_url={self.base_url!r}, api_key='***', idtoken_ttl={self.idtoken_ttl!r}, "
            f"cache_size={self.cache_size!r}, ltik_max_age={self.ltik_max_age!r}, leeway={self.leeway!r}, "
            f"timeout={self.timeout!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> LtiaasConfig:
        """Read ``LTIAAS_API_KEY`` and ``LTIAAS_URL``; other settings come as keyword arguments.

        When ``LTIAAS_REDIS_URL`` is set too (and no ``idtoken_store`` is given), idtokens are shared
        through Redis (needs the ``redis`` extra).
        """
        env = os.environ if environ is None else environ
        values = []
        for name in ("LTIAAS_API_KEY", "LTIAAS_URL"):
            value = env.get(name, "").strip()
            if not value:
                raise ValueError(f"The environment variable {name} is not set.")
            values.append(value)
        redis_url = env.get("LTIAAS_REDIS_URL", "").strip()
        if redis_url and "idtoken_store" not in options:
            from .redis_store import RedisIdtokenStore

            options["idtoken_store"] = RedisIdtokenStore.from_url(redis_url)
        return cls(values[0], values[1], **options)

    def cache_info(self) -> CacheInfo:
        """``(hits, misses, fetches, size)`` of this config's idtoken cache."""
        return self._idtokens.info()

    def cache_clear(self) -> None:
        """Forget every cached idtoken (statistics are kept)."""
        self._idtokens.clear()


def _check_base_url(url: str) -> tuple[str, Origin]:
    if not isinstance(url, str):
        raise ValueError("base_url must be a string.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("base_url is not a valid URL.") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError("base_url must be an absolute https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("base_url must not contain user information.")
    if parts.query or parts.fragment or url.strip().endswith(("?", "#")):
        raise ValueError("base_url must not contain a query or a fragment.")
    if parts.path not in ("", "/"):
        raise ValueError("base_url must be an origin, with no path beyond '/'.")
    if scheme == "http" and not _is_loopback(host):
        raise ValueError("base_url must use https:// (http:// is allowed only for a loopback host).")
    origin = (scheme, host, port or _DEFAULT_PORTS[scheme])
    return f"{scheme}://{parts.netloc.lower()}", origin


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_number(name: str, value: object, *, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
        raise ValueError(f"{name} must be a number of seconds.")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'zero or more'}.")


def origin_of(url: str) -> Origin | None:
    """The (scheme, host, port) of ``url``, or None when it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return (scheme, parts.hostname, port or _DEFAULT_PORTS[scheme])
