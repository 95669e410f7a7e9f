"""System checks (``manage.py check``, run by ``runserver`` and ``test`` too). Each id is documented in
docs/django.md: ``ltiaas_auth.E00x`` for settings that cannot work, ``ltiaas_auth.W00x`` for settings that
work against a tool shown in an LMS iframe or let an ltik leak."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from . import conf

__all__ = ["check_framing", "check_middleware", "check_reports", "check_settings"]

_OURS = "ltiaas_auth.django.LtiaasMiddleware"
_SECURITY = "django.middleware.security.SecurityMiddleware"
_CSRF = "django.middleware.csrf.CsrfViewMiddleware"
_XFRAME = "django.middleware.clickjacking.XFrameOptionsMiddleware"
_FILTER = "ltiaas_auth.django.reporting.LtikSafeExceptionReporterFilter"
_REPORTER = "ltiaas_auth.django.reporting.LtikSafeExceptionReporter"


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E001 (not a dict, unknown key), E002 (no API key), E003 (no URL), E004 (a value that cannot be
    used): whatever stops the settings from building."""
    try:
        conf.read()
    except conf.SettingsError as error:
        return [Error(str(error), hint="See the LTIAAS settings in docs/django.md.", id=error.check_id)]
    return []


@register(Tags.security)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W004 (above SecurityMiddleware), W005 (below CsrfViewMiddleware), W006 (not in MIDDLEWARE), W003
    (SecurityMiddleware's Referrer-Policy set before ours, and it is not no-referrer)."""
    messages: list[CheckMessage] = []
    ours, security, csrf = (_position(name) for name in (_OURS, _SECURITY, _CSRF))
    if ours is None:
        messages.append(
            Warning(
                f"'ltiaas_auth.django' is installed but {_OURS} is not in MIDDLEWARE: no request is "
                "authenticated by it.",
                hint=f"Add {_OURS!r} to MIDDLEWARE, below SecurityMiddleware and above CsrfViewMiddleware.",
                id="ltiaas_auth.W006",
            )
        )
    if ours is not None and security is not None and ours < security:
        messages.append(
            Warning(
                f"{_OURS} is above SecurityMiddleware.",
                hint="Move it below SecurityMiddleware, so HTTPS redirects happen before any ltik is read "
                "and its Referrer-Policy is set first on a response to a URL carrying an ltik.",
                id="ltiaas_auth.W004",
            )
        )
    if ours is not None and csrf is not None and ours > csrf:
        messages.append(
            Warning(
                f"{_OURS} is below CsrfViewMiddleware: requests proven by an ltik are refused by the CSRF "
                "check (the CSRF cookie is blocked in LMS iframes).",
                hint="Move it above CsrfViewMiddleware.",
                id="ltiaas_auth.W005",
            )
        )
    policy = getattr(settings, "SECURE_REFERRER_POLICY", None)
    if security is not None and policy and (ours is None or ours < security) and not _no_referrer(policy):
        messages.append(
            Warning(
                f"SECURE_REFERRER_POLICY = {policy!r} is set by SecurityMiddleware before "
                f"{_OURS} could set 'no-referrer', so a page whose URL carries an ltik sends it in Referer.",
                hint="Place the middleware below SecurityMiddleware, or set SECURE_REFERRER_POLICY to "
                "'no-referrer'.",
                id="ltiaas_auth.W003",
            )
        )
    return messages


@register(Tags.security)
def check_framing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W001 (XFrameOptionsMiddleware refuses every LMS frame), W002 (a CSP ``frame-ancestors`` that
    leaves out an LMS origin)."""
    messages: list[CheckMessage] = []
    if _position(_XFRAME) is not None:
        value = getattr(settings, "X_FRAME_OPTIONS", "DENY")
        messages.append(
            Warning(
                f"XFrameOptionsMiddleware sends X-Frame-Options: {value} (DENY is Django's default), so "
                "the LMS cannot show the tool in its iframe.",
                hint="Remove XFrameOptionsMiddleware and allow the LMS with a CSP frame-ancestors listing "
                "LTIAAS['LMS_ORIGINS'] (or mark the tool's views @xframe_options_exempt).",
                id="ltiaas_auth.W001",
            )
        )
    ancestors = _frame_ancestors()
    if ancestors is not None:
        try:
            origins = conf.read().lms_origins
        except conf.SettingsError:
            origins = ()  # reported by check_settings
        missing = [origin for origin in origins if not _allows(ancestors, origin)]
        if missing or (not origins and not _allows(ancestors, None)):
            left_out = ", ".join(missing) if missing else "every LMS (LTIAAS['LMS_ORIGINS'] is empty)"
            messages.append(
                Warning(
                    f"The Content-Security-Policy frame-ancestors ({' '.join(ancestors)}) leaves out "
                    f"{left_out}: the LMS cannot show the tool in its iframe.",
                    hint="List each LMS origin in LTIAAS['LMS_ORIGINS'] and in frame-ancestors.",
                    id="ltiaas_auth.W002",
                )
            )
    return messages


@register(Tags.security)
def check_reports(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W007: error reports (500 pages, admin mails) that would print the ltik of the failing request."""
    wanted = ((_FILTER, "DEFAULT_EXCEPTION_REPORTER_FILTER"), (_REPORTER, "DEFAULT_EXCEPTION_REPORTER"))
    messages: list[CheckMessage] = []
    for ours, name in wanted:
        value = getattr(settings, name, "")
        if not _subclass(value, import_string(ours)):
            messages.append(
                Warning(
                    f"{name} = {value!r}: Django's error reports show the query string, GET and X-Ltik, so "
                    "a 500 page or an admin error mail would hold the request's ltik.",
                    hint=f"Set {name} = {ours!r}.",
                    id="ltiaas_auth.W007",
                )
            )
    return messages


def _position(path: str) -> int | None:
    """The index in ``MIDDLEWARE`` of the class at ``path`` or of a subclass of it."""
    wanted = import_string(path)
    for index, entry in enumerate(getattr(settings, "MIDDLEWARE", None) or ()):
        if _subclass(entry, wanted):
            return index
    return None


def _subclass(path: object, wanted: type) -> bool:
    if not isinstance(path, str) or not path:
        return False
    try:
        found = import_string(path)
    except ImportError:
        return False
    return isinstance(found, type) and issubclass(found, wanted)


def _no_referrer(policy: str | Sequence[str]) -> bool:
    values = policy.split(",") if isinstance(policy, str) else policy
    return "no-referrer" in {value.strip().lower() for value in values}


def _frame_ancestors() -> list[str] | None:
    """The ``frame-ancestors`` sources of the CSP in force: Django's own ``SECURE_CSP`` (Django ≥ 6.0),
    django-csp ≥ 4's ``CONTENT_SECURITY_POLICY["DIRECTIVES"]`` or django-csp 3's ``CSP_FRAME_ANCESTORS``;
    None without one."""
    candidates: list[object] = []
    secure_csp = getattr(settings, "SECURE_CSP", None)
    if isinstance(secure_csp, dict):
        candidates.append(secure_csp.get("frame-ancestors"))
    django_csp = getattr(settings, "CONTENT_SECURITY_POLICY", None)
    if isinstance(django_csp, dict) and isinstance(django_csp.get("DIRECTIVES"), dict):
        candidates.append(django_csp["DIRECTIVES"].get("frame-ancestors"))
    candidates.append(getattr(settings, "CSP_FRAME_ANCESTORS", None))
    for value in candidates:
        if isinstance(value, str):
            return value.split()
        if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
            return [str(source) for source in value]
    return None


def _allows(sources: Iterable[str], origin: str | None) -> bool:
    """Whether CSP sources admit ``origin`` as a frame ancestor (None: whether they admit any other
    site at all), by CSP3's source matching: ``*``, a scheme (``https:``), a host with an optional
    leading ``*.`` and optional scheme and port."""
    for source in (s.strip().lower() for s in sources):
        if source == "*":
            return True
        if source.startswith("'") or not source:
            continue  # 'self', 'none': no other site
        if origin is None:
            return True
        scheme = origin.partition("://")[0]
        if source.endswith(":") and "/" not in source:
            if source[:-1] in (scheme, "http" if scheme == "https" else scheme):
                return True
            continue
        try:
            parts = urlsplit(source if "://" in source else f"{scheme}://{source}")
            wanted = urlsplit(origin)
            host, target = parts.hostname or "", wanted.hostname or ""
            wanted_port = str(wanted.port or _default_port(scheme))
        except ValueError:  # not a source at all (a bracket, a bad port): it admits nothing
            continue
        if parts.scheme not in (scheme, "http" if scheme == "https" else scheme):
            continue
        if host.startswith("*."):
            if not target.endswith(host[1:]):
                continue
        elif host != target:
            continue
        port = parts.netloc.rpartition(":")[2] if ":" in parts.netloc else ""
        # CSP3: a source without a port admits the default port of the origin's scheme.
        if port == "*" or (port or _default_port(scheme)) == wanted_port:
            return True
    return False


def _default_port(scheme: str) -> str:
    return "443" if scheme == "https" else "80"
