"""``Ltiaas``: the Flask extension. One call installs the WSGI middleware; settings come from ``app.config``.

.. code-block:: python

    ltiaas = Ltiaas()            # in extensions.py
    ltiaas.init_app(app)         # in create_app(); or Ltiaas(app) for a single app

The gate is :class:`ltiaas_auth.LtiaasMiddleware`, wrapped around ``app.wsgi_app``: every request is
decided there, before Flask routes it, exactly as for any WSGI app. What this module adds is Flask's
side of it: settings read from ``app.config`` (``LTIAAS_*``, then the environment), per-view exemptions
and role gates, ``LtiaasAuthError`` raised in a view answered as the middleware answers a rejection, a
handler to render rejections yourself, and template globals that carry the ltik through a server-rendered
tool's links and forms. Nothing here reads an ltik or judges one.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from flask import Blueprint, Flask, Response, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from jinja2 import TemplateNotFound
from markupsafe import Markup

from . import frontend
from ._gate import DEFAULT_SOURCES, ERROR_KEY, LAUNCH_KEY
from ._rejection import relaunch_page, render, wants_html
from .config import LtiaasConfig
from .credentials import Launch
from .errors import LtiaasAuthError, MissingLtik
from .roles import Roles
from .wsgi import LtiaasMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["Ltiaas", "LtiaasState", "launch_required", "ltik_exempt"]

F = TypeVar("F", bound=Callable[..., Any])

#: The extension's key in ``app.extensions``.
EXTENSION = "ltiaas"
#: Flask reads the ``form`` source too, so ``ltik_field()`` works in every form.
FLASK_SOURCES = (*DEFAULT_SOURCES, "form")
#: Where the extension serves ``ltik.js`` (endpoint ``ltiaas.script``) unless ``LTIAAS_SCRIPT_URL`` says.
SCRIPT_URL = "/_ltiaas/ltik.js"
SCRIPT_ENDPOINT = "ltiaas.script"
#: The app's own relaunch page for browser navigations, if it has this template.
RELAUNCH_TEMPLATE = "ltiaas_auth/relaunch.html"

_EXEMPT_MARK = "_ltiaas_exempt"
_WAIVED = "ltiaas_auth.flask.waived"
#: The settings, read from ``app.config["LTIAAS_<NAME>"]`` or the environment; a keyword option of the
#: same name in lowercase (``Ltiaas(exempt=[...])``) wins over both.
_SETTINGS = (
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
    "SCRIPT_URL",
)
_MIDDLEWARE_OPTIONS = ("max_body_size", "referrer_policy")
_OPTIONS = frozenset({"config", *(name.lower() for name in _SETTINGS), *_MIDDLEWARE_OPTIONS})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

ErrorHandler = Callable[[LtiaasAuthError], ResponseReturnValue]


@dataclass(frozen=True)
class LtiaasState:
    """What ``init_app`` keeps in ``app.extensions["ltiaas"]`` for one app."""

    extension: Ltiaas
    #: The config every launch of this app uses (its idtoken cache included).
    config: LtiaasConfig
    #: The gate installed around ``app.wsgi_app``.
    middleware: LtiaasMiddleware
    sources: frozenset[str]


class Ltiaas:
    """The Flask extension: ``Ltiaas(app)``, or ``Ltiaas()`` then ``init_app(app)`` in an app factory.

    ``init_app`` wraps ``app.wsgi_app`` in :class:`ltiaas_auth.LtiaasMiddleware` (so Flask's test
    client, every server and every other extension see the launch), registers the error rendering, the
    template globals and the ``ltik.js`` route, and keeps its state in ``app.extensions["ltiaas"]``; the
    extension object itself holds no app, so one serves several.

    Settings, each read from the keyword option of the same name in lowercase, else
    ``app.config["LTIAAS_…"]``, else the environment variable of that name:

    - ``LTIAAS_API_KEY``, ``LTIAAS_URL`` (required, unless a ready ``config=LtiaasConfig`` is given),
      ``LTIAAS_CA_FILE``, ``LTIAAS_REDIS_URL`` (as ``LtiaasConfig.from_env`` reads them),
      ``LTIAAS_TIMEOUT`` and ``LTIAAS_IDTOKEN_TTL`` (seconds): the config.
    - ``LTIAAS_EXEMPT`` (globs on the path; a list, or comma-separated), ``LTIAAS_REQUIRE`` (default
      True), ``LTIAAS_SOURCES`` (default: the middleware's and ``form``), ``LTIAAS_PREFETCH_IDTOKEN``
      (default True): the middleware's options. Flask's static files and the script are served to
      requests without an ltik too (as ``@ltik_exempt`` views: nothing is added to the gate's path).
    - ``LTIAAS_SCRIPT_URL``: where ``ltik.js`` is served (default ``/_ltiaas/ltik.js``).

    ``max_body_size`` and ``referrer_policy`` may be given as keyword options too.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        _check_options(options)
        self._options = options
        self._unauthorized: ErrorHandler | None = None
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return "Ltiaas()"

    def init_app(self, app: Flask, **options: Any) -> None:
        """Install the gate and the rest on ``app``; ``options`` add to (and win over) the constructor's."""
        _check_options(options)
        if EXTENSION in app.extensions:
            raise RuntimeError("Ltiaas is already installed on this app: init_app() runs once per app.")
        setting = _Settings(app.config, {**self._options, **options})
        config = setting.config()
        sources = setting.sequence("SOURCES", FLASK_SOURCES)
        script_url = setting.text("SCRIPT_URL") or SCRIPT_URL
        # Static files and the script are exempt by endpoint (``_exempt``), not by glob: a glob would
        # cost every request a match, the endpoint costs only the requests the gate refuses.
        exempt = setting.sequence("EXEMPT", ())
        inner = app.wsgi_app
        middleware = LtiaasMiddleware(
            inner,
            config,
            require=setting.flag("REQUIRE", True),
            exempt=exempt,
            sources=sources,
            prefetch_idtoken=setting.flag("PREFETCH_IDTOKEN", True),
            error_app=_Rejections(app, inner),
            **{name: setting.options[name] for name in _MIDDLEWARE_OPTIONS if name in setting.options},
        )
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions[EXTENSION] = LtiaasState(self, config, middleware, frozenset(sources))
        app.register_error_handler(LtiaasAuthError, _handle_error)
        app.context_processor(_template_context)
        app.add_template_global(ltik_url)
        app.add_template_global(ltik_field)
        app.add_template_global(ltiaas_script)
        app.add_url_rule(script_url, endpoint=SCRIPT_ENDPOINT, view_func=_serve_script, methods=["GET"])

    def unauthorized_handler(self, callback: ErrorHandler) -> ErrorHandler:
        """Register the function that renders every ``LtiaasAuthError`` answer of the apps this extension
        is installed on (the gate's rejections, ``launch_required``'s, and errors raised in views), as
        Flask-Login's ``unauthorized_handler`` does. It gets the error and returns a response like a
        view. Flask's own ``@app.errorhandler(SomeLtiaasError)`` for a subclass still wins for that class.
        """
        self._unauthorized = callback
        return callback


def _check_options(options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options).difference(_OPTIONS))
    if unknown:
        raise TypeError(f"Ltiaas got unknown options {unknown!r}; it takes {sorted(_OPTIONS)!r}.")
    config = options.get("config")
    if config is not None and not isinstance(config, LtiaasConfig):
        raise TypeError("config must be an LtiaasConfig.")


class _Settings:
    """One app's settings: the keyword option, else ``app.config["LTIAAS_<NAME>"]``, else the environment."""

    def __init__(self, app_config: Mapping[str, Any], options: Mapping[str, Any]) -> None:
        self.app_config = app_config
        self.options = options

    def raw(self, name: str) -> Any:
        key = name.lower()
        if key in self.options:
            return self.options[key]
        full = f"LTIAAS_{name}"
        if full in self.app_config:
            return self.app_config[full]
        return os.environ.get(full)

    def text(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"LTIAAS_{name} must be a string.")
        return value.strip() or None

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"LTIAAS_{name} must be a boolean (or one of {sorted(_TRUE | _FALSE)}).")

    def sequence(self, name: str, default: Iterable[str]) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return tuple(default)
        if isinstance(value, str):  # the environment's spelling: comma-separated
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return tuple(value)

    def number(self, name: str) -> float | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"LTIAAS_{name} must be a number of seconds.") from None
        return cast("float", value)  # LtiaasConfig checks the type and the range

    def config(self) -> LtiaasConfig:
        ready = self.options.get("config")
        if ready is not None:
            return cast("LtiaasConfig", ready)
        environ: dict[str, str] = {}
        for name in ("API_KEY", "URL", "CA_FILE", "REDIS_URL"):
            value = self.text(name)
            if value is not None:
                environ[f"LTIAAS_{name}"] = value
            elif name in ("API_KEY", "URL"):
                raise ValueError(f"Set LTIAAS_{name} in app.config or in the environment.")
        numbers = {
            key: value
            for key, value in (
                ("timeout", self.number("TIMEOUT")),
                ("idtoken_ttl", self.number("IDTOKEN_TTL")),
            )
            if value is not None
        }
        return LtiaasConfig.from_env(environ, **numbers)


def state(app: Flask | None = None) -> LtiaasState:
    """The extension's state on ``app`` (default: the current app)."""
    target = current_app if app is None else app
    try:
        return cast("LtiaasState", target.extensions[EXTENSION])
    except KeyError:
        raise RuntimeError(
            "Ltiaas is not installed on this app: call Ltiaas(app) or init_app(app)."
        ) from None


# --- rejections and errors -------------------------------------------------------------------------------


class _Rejections:
    """The middleware's ``error_app``: a rejected request reaches Flask here, never the view.

    The request is routed (Flask's own URL map) only now, on the rejection path, so the accepted path
    costs nothing: a view or blueprint marked ``@ltik_exempt`` (and the static files and the script) runs
    as if the request had passed, without a launch; any other request gets the error rendered by Flask,
    through the registered handler (``unauthorized_handler`` or the default), with the app's
    ``after_request`` functions applied, as for an error a view raised. ``before_request`` functions and
    the view do not run.
    """

    __slots__ = ("app", "inner")

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        self.inner = inner

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.app
        error: LtiaasAuthError = environ[ERROR_KEY]
        with app.request_context(environ):
            # Waived once at most: an error the exempt view itself let escape comes back here, and is
            # rendered, not run again.
            if not environ.get(_WAIVED) and _exempt(app):
                environ[_WAIVED] = True
            else:
                try:
                    response = app.finalize_request(app.handle_user_exception(error))
                except Exception as failure:  # the handler itself failed: Flask's 500, as for a view
                    response = app.handle_exception(failure)
                return response(environ, start_response)
        return self.inner(environ, start_response)


def _exempt(app: Flask) -> bool:
    """Whether the routed request's view, its class or one of its blueprints is marked exempt."""
    rule = request.url_rule
    if rule is None:
        return False
    endpoint = rule.endpoint
    if endpoint == "static" or endpoint.endswith(".static") or endpoint == SCRIPT_ENDPOINT:
        return True
    view = app.view_functions.get(endpoint)
    if getattr(view, _EXEMPT_MARK, False) or getattr(getattr(view, "view_class", None), _EXEMPT_MARK, False):
        return True
    return any(getattr(app.blueprints.get(name), _EXEMPT_MARK, False) for name in request.blueprints)


def _handle_error(error: LtiaasAuthError) -> ResponseReturnValue:
    callback = state().extension._unauthorized
    if callback is not None:
        return callback(error)
    return rejection_response(error)


def rejection_response(error: LtiaasAuthError) -> Response:
    """``error`` rendered as the middleware renders its rejections (never a token): LTIAAS's JSON
    shape, or for a browser navigation the relaunch page, the app's template
    ``ltiaas_auth/relaunch.html`` when it has one."""
    html = wants_html(request.headers.get("Accept"), request.headers.get("Sec-Fetch-Mode"))
    status, headers, body = render(error, html=html, page=_relaunch_template)
    return Response(body, status=status, headers=headers)


def _relaunch_template(error: LtiaasAuthError, nonce: str) -> str:
    """The app's ``ltiaas_auth/relaunch.html`` (given ``error``, its LTIAAS-shaped ``body`` and the
    ``nonce`` of the page's CSP, for ``ltiaas_script(nonce)``), else the library's page."""
    try:
        template = current_app.jinja_env.get_template(RELAUNCH_TEMPLATE)
    except TemplateNotFound:
        return relaunch_page(error, nonce)
    return render_template(template, error=error, body=error.to_body(), nonce=nonce)


# --- decorators ------------------------------------------------------------------------------------------


@overload
def ltik_exempt(target: Blueprint) -> Blueprint: ...
@overload
def ltik_exempt(target: F) -> F: ...
def ltik_exempt(target: Any) -> Any:
    """Let a view (function or class-based view) or every view of a blueprint run without an ltik.

    The gate still sees the request; when it would refuse it, the exempt view runs instead, with no
    current launch. Paths that should not even be looked at (health checks, static files served by
    Flask) are better listed in ``LTIAAS_EXEMPT``.
    """
    setattr(target, _EXEMPT_MARK, True)
    return target


@overload
def launch_required(view: F, /) -> F: ...
@overload
def launch_required(*, roles: Iterable[str] | str | None = None) -> Callable[[F], F]: ...
def launch_required(view: F | None = None, /, *, roles: Iterable[str] | str | None = None) -> Any:
    """A view that needs a launch (401 ``MISSING_LTIK`` without one, e.g. under ``LTIAAS_REQUIRE=False``)
    and, with ``roles``, one of these course roles (403 ``ROLE_REQUIRED``; any-of, as ``Roles`` reads
    them: ``"Instructor"``, ``"Instructor#TeachingAssistant"``, a role URI).

    Usable bare (``@launch_required``) or called (``@launch_required(roles=["Instructor"])``); async
    views work too. The errors are rendered like every rejection.
    """
    wanted = (roles,) if isinstance(roles, str) else tuple(roles or ())
    if roles is not None and not wanted:
        raise ValueError("launch_required(roles=...) needs at least one role name.")

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def gated(*args: Any, **kwargs: Any) -> Any:
            launch = _launch()
            if launch is None:
                raise MissingLtik()
            if wanted:
                Roles.from_idtoken(launch.idtoken()).require_any(*wanted)
            return current_app.ensure_sync(function)(*args, **kwargs)

        return cast("F", gated)

    return decorate(view) if view is not None else decorate


# --- templates and the script ----------------------------------------------------------------------------


def _launch() -> Launch | None:
    """The request's launch, as the gate decided it (None when it has none)."""
    launch = request.environ.get(LAUNCH_KEY)
    return launch if isinstance(launch, Launch) else None


def _template_context() -> dict[str, Any]:
    return {"current_launch": _launch()}


def ltik_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` with the request's ltik as ``?ltik=``, so a plain link opens the
    next page within the launch (no ltik: the plain URL). The response to that page gets
    ``Referrer-Policy`` and ``Cache-Control: private`` from the gate; ``ltiaas_script()`` then takes the
    ltik out of the address bar."""
    launch = _launch()
    if launch is not None:
        values["ltik"] = launch.ltik.raw
    return url_for(endpoint, **values)


def ltik_field() -> Markup:
    """A hidden ``<input name="ltik">`` holding the request's ltik, for a form that posts to the tool
    (the extension reads the ``form`` source); empty markup without a launch."""
    if "form" not in state().sources:
        raise RuntimeError("ltik_field() needs the 'form' source: add it to LTIAAS_SOURCES.")
    launch = _launch()
    if launch is None:
        return Markup("")
    return Markup('<input type="hidden" name="ltik" value="{}">').format(launch.ltik.raw)


def ltiaas_script(nonce: str | None = None) -> Markup:
    """``ltik.js`` inlined in a ``<script>`` element (DESIGN §10): it carries the ltik through the tab's
    links, forms and fetches and keeps it out of the address bar.

    Under a Content-Security-Policy give the response's nonce; without one, the nonce Flask-Talisman
    (``request.csp_nonce``) or the app (``g.csp_nonce``) set for this request is used. The same file is
    served at ``url_for("ltiaas.script")`` for a ``<script src>``.
    """
    if nonce is None:
        nonce = getattr(request, "csp_nonce", None) or g.get("csp_nonce")
    return Markup(frontend.script_tag(nonce))  # noqa: S704 - script_tag() returns markup (``__html__``)


def _serve_script() -> Response:
    response = Response(_script(), mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@functools.cache
def _script() -> bytes:
    """The file's bytes, read once: a few KB, served on every page of the tool."""
    return frontend.script_path().read_bytes()
