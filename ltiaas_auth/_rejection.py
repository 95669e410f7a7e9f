"""Rejections as the client can read them: LTIAAS-shaped JSON, or, for a browser navigation, a small page.

A program (``fetch``, an API client, curl) gets the JSON body of DESIGN §4; a person whose browser
navigated to the page (``Sec-Fetch-Mode: navigate``, or an ``Accept`` that prefers ``text/html``) gets
:func:`relaunch_page`: what happened and what to do (open the activity again from the course), with the
same status, under its own nonce-based ``Content-Security-Policy``. The page inlines ``ltik.js``
(:func:`ltiaas_auth.frontend.script_tag`), which, when the tab still holds a valid ltik, re-requests the
page with it once, so a reload or a back navigation recovers by itself. Neither form ever holds a token.

The WSGI and ASGI middleware and the integrations all render through :func:`render`; an integration that
wants its own page passes ``page=`` (any ``(error, nonce) -> html`` function, a template's render, say).
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, NamedTuple

from .errors import MissingLtik, RateLimited

if TYPE_CHECKING:
    from .errors import LtiaasAuthError

__all__ = ["Rejection", "RelaunchPage", "relaunch_page", "render", "wants_html"]

#: ``(error, nonce) -> html``: renders the page for a browser; ``nonce`` goes on every ``<script>`` and
#: ``<style>`` element (the page's CSP allows nothing else).
RelaunchPage = Callable[["LtiaasAuthError", str], str]

_MISSING_CHALLENGE = "Bearer"
_INVALID_CHALLENGE = 'Bearer error="invalid_token"'


class Rejection(NamedTuple):
    """A ready-to-send error response: status, headers (as ``str``), body. ``Referrer-Policy`` is not
    here: the adapters add it to every response of a request that needs it, this one included."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def wants_html(accept: str | None, sec_fetch_mode: str | None = None) -> bool:
    """Whether the client is a browser navigating (so a person reads the answer): ``Sec-Fetch-Mode:
    navigate``, or an ``Accept`` whose q-values prefer ``text/html`` to ``application/json``. ``*/*``
    alone, or no ``Accept``, is a program's: JSON."""
    if sec_fetch_mode is not None and sec_fetch_mode.strip().lower() == "navigate":
        return True
    if not accept or "text/" not in accept.lower():
        return False
    return _quality(accept, "text", "html") > _quality(accept, "application", "json")


def _quality(accept: str, kind: str, subtype: str) -> float:
    """The q of the most specific range in ``accept`` matching ``kind/subtype`` (RFC 9110 §12.5.1)."""
    best, best_rank = 0.0, -1
    for item in accept.split(",")[:64]:
        media, *params = item.split(";")
        range_kind, _, range_subtype = media.strip().lower().partition("/")
        if range_kind == kind and range_subtype == subtype:
            rank = 2
        elif range_kind == kind and range_subtype == "*":
            rank = 1
        elif range_kind == "*" and range_subtype == "*":
            rank = 0
        else:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
                if q != q:  # NaN
                    q = 0.0
        if rank > best_rank:
            best, best_rank = q, rank
    return best


def relaunch_page(error: LtiaasAuthError, nonce: str) -> str:
    """The default page: the status, what happened (the error's edge description) and what to do.

    It inlines ``ltik.js`` (``script_tag(nonce=nonce)``), which recovers the page when the tab still
    holds a valid ltik; the script reads the error's code from ``<html data-ltiaas-error="…">`` (a
    missing ltik is worth asking again for, an expired one is not). Override it with any function of the
    same signature (``page=`` of :func:`render`): keep that attribute and the script, and since whatever it
    returns is sent under the same CSP, give ``nonce`` to every script and style element.
    """
    from .frontend import script_tag

    status = error.status
    body = error.to_body()
    what = html.escape(str(body["details"]["description"]))
    code = html.escape(str(body["details"]["message"]))
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.BAD_REQUEST):
        title = "Open this activity again from your course"
        advice = (
            "This page needs the launch your course gives it, and this request did not carry a usable "
            "one. Go back to your course and open the activity again from there."
        )
    elif status == HTTPStatus.FORBIDDEN:
        title = "This page is not available to you"
        advice = (
            "Your role in this course does not give access to this page. Ask your teacher if you need it."
        )
    else:
        title = "The tool could not reach its learning platform service"
        advice = (
            "This is not your fault. Wait a moment, then open the activity again from your course. If it "
            "keeps happening, tell your teacher or the tool's support."
        )
    return (
        "<!doctype html>\n"
        # data-ltiaas-error tells ltik.js this is the rejection page (it asks again for MISSING_LTIK).
        f'<html lang="en" data-ltiaas-error="{code}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{html.escape(title)}</title>'
        f'<style nonce="{nonce}">body{{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:3em auto;'
        "padding:0 1em;color:#222}h1{font-size:1.4em}small{color:#666}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(advice)}</p><p>{what}</p>"
        f"<p><small>{status} {html.escape(HTTPStatus(status).phrase)} · {code}</small></p>"
        f"{script_tag(nonce=nonce)}</body></html>\n"
    )


def render(error: LtiaasAuthError, *, html: bool = False, page: RelaunchPage | None = None) -> Rejection:
    """The rejection for ``error``: LTIAAS's JSON shape, or with ``html`` the page (``page``, by default
    :func:`relaunch_page`) under its own nonce-based CSP. Never cached (``Cache-Control: no-store``); on
    401 the Bearer challenge; for ``RateLimited`` LTIAAS's ``Retry-After``, passed on."""
    if html:
        nonce = secrets.token_urlsafe(18)
        body = (page or relaunch_page)(error, nonce).encode()
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            (
                "Content-Security-Policy",
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                "connect-src 'self'; form-action 'self'; base-uri 'none'",
            ),
            ("X-Content-Type-Options", "nosniff"),
        ]
    else:
        body = json.dumps(error.to_body(), separators=(",", ":")).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
    if error.status == HTTPStatus.UNAUTHORIZED:
        challenge = _MISSING_CHALLENGE if isinstance(error, MissingLtik) else _INVALID_CHALLENGE
        headers.append(("WWW-Authenticate", challenge))
    if isinstance(error, RateLimited) and error.retry_after is not None:
        headers.append(("Retry-After", str(max(0, round(error.retry_after)))))
    return Rejection(error.status, headers, body)
