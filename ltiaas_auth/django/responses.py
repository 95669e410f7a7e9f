"""Rejections as Django responses, through the one renderer (:func:`ltiaas_auth._rejection.render`):
LTIAAS-shaped JSON for programs, and for a browser navigation the relaunch page, rendered from the template
``ltiaas_auth/relaunch.html`` (a project template of that name wins over the app's)."""

from __future__ import annotations

from functools import cache, partial
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from django.http import HttpResponse
from django.template import Context, Engine, TemplateDoesNotExist
from django.template.loader import get_template

from .._rejection import relaunch_page, render, wants_html
from ..frontend import script_tag

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

    from .._gate import Gate
    from ..errors import LtiaasAuthError

__all__ = ["TEMPLATE", "page", "rejection", "url_ltik_headers"]

TEMPLATE = "ltiaas_auth/relaunch.html"
_TEMPLATES = Path(__file__).parent / "templates"


def rejection(request: HttpRequest, error: LtiaasAuthError) -> HttpResponse:
    """The answer to a refused request, or to an ``LtiaasAuthError`` a view raised: the relaunch page
    for a browser navigation, else LTIAAS's JSON shape."""
    meta = request.META
    navigating = wants_html(meta.get("HTTP_ACCEPT"), meta.get("HTTP_SEC_FETCH_MODE"))
    status, headers, body = render(
        error, html=navigating, page=partial(page, request) if navigating else None
    )
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    return response


def page(request: HttpRequest, error: LtiaasAuthError, nonce: str) -> str:
    """The relaunch page from ``ltiaas_auth/relaunch.html``. Its context: ``error``, ``status``,
    ``phrase``, ``code``, ``description`` (the edge's, never a token), ``nonce`` (the page's CSP allows
    only scripts and styles carrying it), ``ltiaas_script`` (``ltik.js`` inlined under that nonce) and
    ``default_page`` (the library's own page, which the app's template shows as it is)."""
    details = error.to_body()["details"]
    context = {
        "error": error,
        "status": error.status,
        "phrase": HTTPStatus(error.status).phrase,
        "code": details["message"],
        "description": details["description"],
        "nonce": nonce,
        "ltiaas_script": script_tag(nonce=nonce),
        "default_page": _Markup(relaunch_page(error, nonce)),
    }
    try:
        template = get_template(TEMPLATE)
    except TemplateDoesNotExist:
        return _engine().get_template(TEMPLATE).render(Context(context, autoescape=True))
    return str(template.render(context, request))


class _Markup(str):
    """Already HTML: template engines insert it as is (the ``__html__`` protocol)."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


@cache
def _engine() -> Engine:
    """The app's own template, for projects whose template settings do not find it."""
    return Engine(dirs=[str(_TEMPLATES)], autoescape=True)


def url_ltik_headers(response: HttpResponseBase, gate: Gate, in_url: bool) -> HttpResponseBase:
    """For a request whose ltik came in the URL: the gate's ``Referrer-Policy`` (so the browser does not
    send the URL on) and ``Cache-Control: private`` (RFC 6750 §2.3), each unless the view set its own."""
    if in_url:
        policy = gate.referrer_policy
        if policy is not None and "Referrer-Policy" not in response:
            response["Referrer-Policy"] = policy
        if "Cache-Control" not in response:
            response["Cache-Control"] = "private"
    return response
