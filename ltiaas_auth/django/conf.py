"""The ``LTIAAS`` setting, read lazily: built into a config and a gate on first use, rebuilt when a setting
it depends on changes (``override_settings`` sends ``setting_changed``), and kept per settings value so that
leaving an override gets the earlier config back, idtoken cache and all.

Every value may also come from the environment (``LTIAAS_API_KEY``, ``LTIAAS_URL``, ``LTIAAS_REDIS_URL``,
``LTIAAS_CA_FILE``, ``LTIAAS_TIMEOUT``, ``LTIAAS_IDTOKEN_TTL``), read when the settings are built.
"""

from __future__ import annotations

import hashlib
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .._gate import Gate
from ..config import LtiaasConfig

__all__ = [
    "DEFAULT_SOURCES",
    "KEYS",
    "LtiaasSettings",
    "SettingsError",
    "clear",
    "current",
    "current_settings",
    "read",
]

#: The keys of the ``LTIAAS`` setting; anything else is a typo (check ``ltiaas_auth.E001``).
KEYS = (
    "API_KEY",
    "URL",
    "EXEMPT",
    "REQUIRE",
    "SOURCES",
    "PREFETCH_IDTOKEN",
    "REDIS_URL",
    "CA_FILE",
    "TIMEOUT",
    "IDTOKEN_TTL",
    "LMS_ORIGINS",
)
#: The keys that fall back to an environment variable, ``LTIAAS_<KEY>``.
_FROM_ENV = ("API_KEY", "URL", "REDIS_URL", "CA_FILE", "TIMEOUT", "IDTOKEN_TTL")
#: Django reads hidden ``ltik`` form fields too: a server-rendered tool posts its forms with one.
DEFAULT_SOURCES = ("authorization", "query", "header", "form")
#: The settings a built gate depends on; a change to any of them rebuilds it.
WATCHED = frozenset({"LTIAAS", "STATIC_URL", "MEDIA_URL", "INSTALLED_APPS"})
_KEEP = 8  # settings values remembered (one per distinct override in a test suite is plenty)


class SettingsError(ImproperlyConfigured):
    """An ``LTIAAS`` setting that cannot be used; ``check_id`` is the system check that reports it."""

    def __init__(self, check_id: str, message: str) -> None:
        super().__init__(message)
        self.check_id = check_id


@dataclass(frozen=True, slots=True)
class LtiaasSettings:
    """What the middleware needs, built from the settings: the gate (and its config) and the LMS origins."""

    gate: Gate
    lms_origins: tuple[str, ...]
    exempt: tuple[str, ...]

    @property
    def config(self) -> LtiaasConfig:
        return self.gate.config


#: The settings in force, None until built (or after a change): read on every request.
current_settings: LtiaasSettings | None = None
_built: dict[bytes, LtiaasSettings] = {}


def current() -> LtiaasSettings:
    """The settings in force, built on first use (a module global read on every request after that)."""
    return current_settings or _rebuild()


def clear(**_: object) -> None:
    """Forget the settings in force (a ``setting_changed`` receiver; also for a test that changed the
    environment), so the next request reads them again."""
    global current_settings
    current_settings = None


def _rebuild() -> LtiaasSettings:
    global current_settings
    raw = _raw()
    key = hashlib.sha256(repr(sorted(raw.items(), key=lambda item: item[0])).encode()).digest()
    built = _built.get(key)
    if built is None:
        built = _build(raw)
        if len(_built) >= _KEEP:
            del _built[next(iter(_built))]
        _built[key] = built
    current_settings = built
    return built


def read() -> LtiaasSettings:
    """Build the settings afresh, without caching: what the system checks validate."""
    return _build(_raw())


def _raw() -> dict[str, Any]:
    """Every input of the build: the ``LTIAAS`` dict with the environment's fallbacks filled in, and the
    Django settings the default exemptions come from."""
    value = getattr(settings, "LTIAAS", {})
    if not isinstance(value, Mapping):
        raise SettingsError("ltiaas_auth.E001", "The LTIAAS setting must be a dict.")
    unknown = sorted(str(name) for name in value if name not in KEYS)
    if unknown:
        raise SettingsError(
            "ltiaas_auth.E001", f"Unknown LTIAAS setting(s): {', '.join(unknown)}; known: {', '.join(KEYS)}."
        )
    raw: dict[str, Any] = dict(value)
    for name in _FROM_ENV:
        if raw.get(name) is None:
            env = os.environ.get(f"LTIAAS_{name}", "").strip()
            if env:
                raw[name] = env
    # The unprefixed values: ``settings.STATIC_URL`` adds the script prefix of the current request, while
    # the gate matches paths below the mount point (``request.path_info``).
    holder = getattr(settings, "_wrapped", settings)
    raw["@static"] = getattr(holder, "STATIC_URL", None)
    raw["@media"] = getattr(holder, "MEDIA_URL", None)
    raw["@admin"] = "django.contrib.admin" in settings.INSTALLED_APPS
    return raw


def _build(raw: Mapping[str, Any]) -> LtiaasSettings:
    api_key, url = raw.get("API_KEY"), raw.get("URL")
    if not api_key:
        raise SettingsError(
            "ltiaas_auth.E002", "LTIAAS['API_KEY'] is not set (nor the LTIAAS_API_KEY environment variable)."
        )
    if not url:
        raise SettingsError(
            "ltiaas_auth.E003", "LTIAAS['URL'] is not set (nor the LTIAAS_URL environment variable)."
        )
    options: dict[str, Any] = {}
    for name, option in (("TIMEOUT", "timeout"), ("IDTOKEN_TTL", "idtoken_ttl")):
        if raw.get(name) is not None:
            options[option] = _number(name, raw[name])
    if raw.get("CA_FILE"):
        options["ssl_context"] = _ssl_context(raw["CA_FILE"])
    if raw.get("REDIS_URL"):
        from ..redis_store import RedisIdtokenStore

        options["idtoken_store"] = RedisIdtokenStore.from_url(_string("REDIS_URL", raw["REDIS_URL"]))
    try:
        config = LtiaasConfig(_string("API_KEY", api_key), _string("URL", url), **options)
    except (TypeError, ValueError) as error:
        raise SettingsError("ltiaas_auth.E004", f"LTIAAS: {error}") from None
    exempt = raw.get("EXEMPT")
    exempt = _strings("EXEMPT", exempt) if exempt is not None else default_exempt(raw)
    static = _local_path(raw.get("@static"))
    if static is not None:  # ltik.js is fetched by a <script src> that carries no ltik
        exempt = (*exempt, f"{static}ltiaas_auth/*")
    try:
        gate = Gate(
            config,
            require=_flag("REQUIRE", raw.get("REQUIRE", True)),
            exempt=exempt,
            sources=_strings("SOURCES", raw.get("SOURCES", DEFAULT_SOURCES)),
            max_body_size=65536,
            referrer_policy="no-referrer",
            prefetch_idtoken=_flag("PREFETCH_IDTOKEN", raw.get("PREFETCH_IDTOKEN", True)),
        )
    except ValueError as error:
        raise SettingsError("ltiaas_auth.E004", f"LTIAAS: {error}") from None
    origins = tuple(_origin(origin) for origin in _strings("LMS_ORIGINS", raw.get("LMS_ORIGINS", ())))
    return LtiaasSettings(gate, origins, exempt)


def default_exempt(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """``STATIC_URL`` and ``MEDIA_URL`` when they are paths of this site, and ``/admin/*`` when the admin
    is installed."""
    globs = [f"{path}*" for path in map(_local_path, (raw.get("@static"), raw.get("@media"))) if path]
    if raw.get("@admin"):
        globs.append("/admin/*")
    return tuple(globs)


def _local_path(url: object) -> str | None:
    """The path of a ``STATIC_URL``-like value served by this site (``"static/"`` and ``"/static/"`` give
    ``"/static/"``); None for an empty one or one on another host."""
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.strip("/"):
        return None
    return f"/{parts.path.strip('/')}/"


def _ssl_context(path: object) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=_string("CA_FILE", path))
    except (OSError, ssl.SSLError) as error:
        raise SettingsError("ltiaas_auth.E004", f"LTIAAS['CA_FILE'] cannot be read: {error}.") from None


def _string(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise SettingsError("ltiaas_auth.E004", f"LTIAAS['{name}'] must be a string.")
    return value


def _strings(name: str, value: object) -> tuple[str, ...]:
    if (
        isinstance(value, str)
        or not isinstance(value, (list, tuple))
        or not all(isinstance(item, str) for item in value)
    ):
        raise SettingsError("ltiaas_auth.E004", f"LTIAAS['{name}'] must be a list of strings.")
    return tuple(value)


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise SettingsError("ltiaas_auth.E004", f"LTIAAS['{name}'] must be True or False.")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise SettingsError("ltiaas_auth.E004", f"LTIAAS['{name}'] must be a number of seconds.")


def _origin(value: str) -> str:
    """An LMS origin, ``https://host[:port]``, or a CSP-style wildcard one (``https://*.example.edu``)."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = parts._replace(netloc="")
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise SettingsError(
            "ltiaas_auth.E004",
            f"LTIAAS['LMS_ORIGINS'] holds {value!r}, which is not an origin (https://host).",
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"
