"""``LtiaasConfig``: the API key, the only origin it may go to, and the idtoken cache that goes with them."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._syntax import is_token68
from .errors import InvalidCredential

if TYPE_CHECKING:
    from .idtoken import CacheInfo, IdtokenCache
    from .service_keys import ServiceKeyStore
    from .stores import IdtokenStore

__all__ = ["LtiaasConfig", "Origin", "check_config"]

#: (scheme, host, port): what a URL must match for the API key to be sent to it.
Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, eq=True)
class LtiaasConfig:
    """Where LTIAAS is and how to talk to it.

    ``api_key`` is a server-side secret: it is never shown by ``repr``/``str`` and is only ever sent to
    ``base_url``'s origin. ``base_url`` is ``https://…``, or ``http://`` to a loopback host only. Every
    other option is keyword-only. ``idtoken_ttl``, ``ltik_max_age``, ``leeway``, ``timeout`` and
    ``refusal_ttl`` are seconds (finite); ``cache_size`` bounds the entries, and ``cache_max_bytes`` the
    memory, of the caches this config owns (the middleware's parsed ltiks and the idtokens, together).
    ``refusal_ttl`` is how long an ltik LTIAAS refused is refused locally without asking again (0: never).
    ``ssl_context`` (an ``ssl.SSLContext``; None: the system's trust store) is used for every outbound
    call. ``clock`` returns the POSIX time; inject one in tests. ``service_keys``, a ``ServiceKeyStore``,
    records every launch's service key as its idtoken is fetched, so jobs outside a launch can call LTIAAS
    later. ``idtoken_store``, an ``IdtokenStore`` such as ``RedisIdtokenStore``, shares idtokens between
    worker processes behind the in-memory cache.

    ``copy.copy``/``copy.deepcopy`` give an equal config with a cache of its own (the TLS context, stores
    and clock are shared); ``pickle`` works while those are at their defaults. They take no part in
    equality.
    """

    api_key: str = field(repr=False)
    base_url: str
    _: KW_ONLY
    idtoken_ttl: float = 3600
    cache_size: int = 10_000
    ltik_max_age: float = 86400
    leeway: float = 0
    timeout: float = 10.0
    refusal_ttl: float = 60
    cache_max_bytes: int = 32 * 2**20
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)
    service_keys: ServiceKeyStore | None = field(default=None, compare=False, repr=False)
    idtoken_store: IdtokenStore | None = field(default=None, compare=False, repr=False)
    origin: Origin = field(init=False, repr=False, compare=False)
    _idtokens: IdtokenCache = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.api_key, str):
            raise TypeError("api_key must be a string (the LTIAAS API key).")
        if not is_token68(self.api_key):
            raise InvalidCredential("The API key must be a non-empty RFC 7235 token68 string.")
        base_url, origin = _check_base_url(self.base_url)
        object.__setattr__(self, "base_url", base_url)
        object.__setattr__(self, "origin", origin)
        for name in ("ltik_max_age", "timeout"):
            _check_number(name, getattr(self, name), positive=True)
        for name in ("idtoken_ttl", "leeway", "refusal_ttl"):  # 0 turns caching / refusal memory off
            _check_number(name, getattr(self, name), positive=False)
        _check_count("cache_size", self.cache_size, minimum=1)
        _check_count("cache_max_bytes", self.cache_max_bytes, minimum=_MIN_CACHE_BYTES)
        if self.ssl_context is not None and not isinstance(self.ssl_context, ssl.SSLContext):
            raise TypeError("ssl_context must be an ssl.SSLContext or None.")
        if not callable(self.clock):
            raise TypeError("clock must be a callable returning the POSIX time.")
        for name, methods in (("service_keys", ("put", "get", "records")), ("idtoken_store", _STORE_METHODS)):
            value = getattr(self, name)
            if value is not None and not all(callable(getattr(value, m, None)) for m in methods):
                raise TypeError(f"{name} must provide {', '.join(methods)} (see its protocol), or be None.")

        from .idtoken import IdtokenCache

        object.__setattr__(self, "_idtokens", IdtokenCache(self))

    def __repr__(self) -> str:
        return (
            f"LtiaasConfig(base_url={self.base_url!r}, api_key='***', idtoken_ttl={self.idtoken_ttl!r}, "
            f"cache_size={self.cache_size!r}, ltik_max_age={self.ltik_max_age!r}, leeway={self.leeway!r}, "
            f"timeout={self.timeout!r}, refusal_ttl={self.refusal_ttl!r}, "
            f"cache_max_bytes={self.cache_max_bytes!r})"
        )

    __str__ = __repr__

    def __copy__(self) -> LtiaasConfig:
        # dataclasses.replace runs __init__ again: an equal config with an idtoken cache of its own.
        return dataclasses.replace(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> LtiaasConfig:
        # The TLS context, the stores and the clock are shared resources, never copied.
        return dataclasses.replace(self)

    def __reduce__(self) -> tuple[Any, ...]:
        for name in ("ssl_context", "service_keys", "idtoken_store"):
            if getattr(self, name) is not None:
                raise TypeError(f"An LtiaasConfig with {name} set cannot be pickled; build it again instead.")
        if self.clock is not time.time:
            raise TypeError("An LtiaasConfig with a custom clock cannot be pickled; build it again instead.")
        options = {name: getattr(self, name) for name in _PICKLED}
        return (_restore, (options,))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> LtiaasConfig:
        """Read ``LTIAAS_API_KEY`` and ``LTIAAS_URL``; other settings come as keyword arguments.

        When ``LTIAAS_CA_FILE`` is set (and no ``ssl_context`` is given), outbound calls trust that CA
        bundle (PEM). When ``LTIAAS_REDIS_URL`` is set (and no ``idtoken_store`` is given), idtokens are
        shared through Redis (needs the ``redis`` extra).
        """
        env = os.environ if environ is None else environ
        values = []
        for name in ("LTIAAS_API_KEY", "LTIAAS_URL"):
            value = env.get(name, "").strip()
            if not value:
                raise ValueError(f"The environment variable {name} is not set.")
            values.append(value)
        ca_file = env.get("LTIAAS_CA_FILE", "").strip()
        if ca_file and "ssl_context" not in options:
            try:
                options["ssl_context"] = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError):
                raise ValueError(
                    "The environment variable LTIAAS_CA_FILE does not name a readable PEM CA bundle."
                ) from None
        redis_url = env.get("LTIAAS_REDIS_URL", "").strip()
        if redis_url and "idtoken_store" not in options:
            from .redis_store import RedisIdtokenStore

            options["idtoken_store"] = RedisIdtokenStore.from_url(redis_url)
        return cls(values[0], values[1], **options)

    def cache_info(self) -> CacheInfo:
        """``(hits, misses, fetches, size)`` of this config's idtoken cache."""
        return self._idtokens.info()

    def cache_clear(self) -> None:
        """Forget every cached idtoken and remembered refusal (statistics are kept)."""
        self._idtokens.clear()


#: The smallest ``cache_max_bytes``: room for a few of the largest (8 KiB) ltiks.
_MIN_CACHE_BYTES = 2**20
_STORE_METHODS = ("get", "set", "lock", "unlock", "look", "refuse", "fail")
_PICKLED = (
    "api_key",
    "base_url",
    "idtoken_ttl",
    "cache_size",
    "ltik_max_age",
    "leeway",
    "timeout",
    "refusal_ttl",
    "cache_max_bytes",
)


def _restore(options: dict[str, Any]) -> LtiaasConfig:
    return LtiaasConfig(**options)


def check_config(value: object, name: str = "config") -> LtiaasConfig:
    """``value`` when it is an ``LtiaasConfig``; a ``TypeError`` naming ``name`` otherwise (None included)."""
    if not isinstance(value, LtiaasConfig):
        raise TypeError(f"{name} must be an LtiaasConfig, not {type(value).__name__}.")
    return value


def _check_base_url(url: object) -> tuple[str, Origin]:
    if not isinstance(url, str):
        raise TypeError("base_url must be a string (an https:// URL).")
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
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}.")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds.")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'zero or more'}.")


def _check_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}.")


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
