"""The browser side of the fake, as LTIAAS and an LMS run it: a launch picker, the launch redirect, dynamic
registration and the LMS's deep-linking return page.

- ``GET /``: a page to pick a sample user, a role, a course and a message type, and launch.
- ``GET /lti/launch?…``: mint a launch from ``FakeLtiaas.launch()``'s keyword names (``roles`` and
  ``services`` comma-separated) and answer 302 to the tool's launch URL with ``?ltik=``; ``tool_url`` names
  the tool when the fake was started without one.
- ``GET /lti/register?tool_url=URL``: a pending dynamic registration, then 302 to ``URL?registrationId=``.
- ``POST /lti/deeplinking/return``: where the deep-linking forms LTIAAS builds post (the LMS's return URL);
  the content items are recorded in ``FakeLtiaas.deep_link_returns``.

These pages take no ``Authorization``: in production they are LTIAAS's and the LMS's, reached by a browser.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from werkzeug.wrappers import Response

from ltiaas_auth.testing._fake_launch import (
    DEEP_LINKING_RETURN_PATH,
    MESSAGE_TYPES,
    PLATFORM_NAME,
    PLATFORM_URL,
    build_spec,
)
from ltiaas_auth.testing._fake_routing import ApiRequest, Route
from ltiaas_auth.testing._fake_state import DeepLinkReturn, FakeState

#: The people the picker offers: (user_id, name, their usual role). Any other user_id works in the query.
SAMPLE_USERS = (
    ("ada", "Ada Lovelace", "Learner"),
    ("grace", "Grace Hopper", "Instructor"),
    ("alan", "Alan Turing", "Learner"),
    ("katherine", "Katherine Johnson", "TeachingAssistant"),
)
#: The courses the picker offers: (context_id, title).
SAMPLE_COURSES = (("physics-101", "Physics 101"), ("history-201", "History 201"))
ROLES = ("Learner", "Instructor", "TeachingAssistant", "ContentDeveloper", "Mentor", "Administrator")
LAUNCH_PARAMETERS = (
    "user_id",
    "name",
    "email",
    "roles",
    "context_id",
    "context_title",
    "resource_link_id",
    "services",
    "lti_version",
    "message_type",
    "tool_url",
)
_LIST_PARAMETERS = ("roles", "services")
_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'self'"
_STYLE = "body{font-family:sans-serif;max-width:40rem;margin:2rem auto}label{display:block;margin:.6rem 0}"


class PageError(Exception):
    """A browser request the fake refuses: answered as a small HTML page with `status`."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


def page(title: str, body: str, status: int = 200) -> Response:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    response = Response(document, status=status, content_type="text/html; charset=utf-8")
    response.headers.update(
        {"Cache-Control": "no-store", "Content-Security-Policy": _CSP, "Referrer-Policy": "no-referrer"}
    )
    return response


def redirect(location: str) -> Response:
    response = Response(status=302, headers={"Location": location})
    response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    return response


def _picker(state: FakeState, request: ApiRequest) -> Response:
    def options(name: str, choices: tuple[tuple[str, str], ...]) -> str:
        items = "".join(
            f'<option value="{html.escape(value)}">{html.escape(label)}</option>' for value, label in choices
        )
        return f'<select id="{name}" name="{name}">{items}</select>'

    users = tuple((user_id, f"{name} ({role})") for user_id, name, role in SAMPLE_USERS)

    def url_field(label: str, field_id: str, value: str = "") -> str:
        value = html.escape(value)
        return (
            f'<label>{label} <input id="{field_id}" name="tool_url" type="url" required size="40"'
            f' value="{value}"></label>'
        )

    body = (
        f"<h1>{html.escape(PLATFORM_NAME)} (FakeLtiaas)</h1>"
        '<form id="launch-form" action="/lti/launch" method="get">'
        f"<label>User {options('user_id', users)}</label>"
        f"<label>Role {options('roles', tuple((role, role) for role in ROLES))}</label>"
        f"<label>Course {options('context_id', SAMPLE_COURSES)}</label>"
        "<label>Message "
        + options(
            "message_type", (("resource_link", "Resource link launch"), ("deep_linking", "Deep linking"))
        )
        + f"</label>{url_field('Tool launch URL', 'tool_url', request.settings.tool_url or '')}"
        '<button id="launch" type="submit">Launch</button></form>'
        "<h2>Dynamic registration</h2>"
        '<form id="register-form" action="/lti/register" method="get">'
        f"{url_field('Tool registration URL', 'registration_url')}"
        '<button id="register" type="submit">Register</button></form>'
    )
    return page("FakeLtiaas: launch a tool", body)


def launch_keywords(query: Mapping[str, str]) -> dict[str, Any]:
    """``FakeLtiaas.launch()``'s keywords from a ``/lti/launch`` query (empty values count as absent).

    A sample user's or course's id brings its name (and the user's e-mail) unless the query gives them.
    """
    unknown = sorted(set(query) - set(LAUNCH_PARAMETERS))
    if unknown:
        known = ", ".join(LAUNCH_PARAMETERS)
        raise PageError(f"Unknown launch parameters: {', '.join(unknown)}. Known: {known}.")
    given = {name: value for name, value in query.items() if value.strip() or name == "services"}
    given.pop("tool_url", None)
    keywords: dict[str, Any] = dict(given)
    for name in _LIST_PARAMETERS:
        if name in keywords:
            keywords[name] = tuple(part.strip() for part in keywords[name].split(",") if part.strip())
    user = {user_id: name for user_id, name, _ in SAMPLE_USERS}.get(given.get("user_id", ""))
    if user is not None:
        keywords.setdefault("name", user)
        keywords.setdefault("email", f"{given['user_id']}@example.edu")
    course = dict(SAMPLE_COURSES).get(given.get("context_id", ""))
    if course is not None:
        keywords.setdefault("context_title", course)
    return keywords


def _tool_url(request: ApiRequest) -> str:
    url = request.query.get("tool_url", "").strip() or request.settings.tool_url
    if not url:
        raise PageError("No tool URL: this fake was started without one, so pass tool_url=.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise PageError("tool_url must be an absolute http:// or https:// URL without a fragment.")
    return url


def _with_query(url: str, **parameters: str) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(parameters)}"


def _launch(state: FakeState, request: ApiRequest) -> Response:
    tool_url = _tool_url(request)
    keywords = launch_keywords(request.query)
    if keywords.get("message_type", "resource_link") not in MESSAGE_TYPES:
        raise PageError(f"message_type must be one of {', '.join(MESSAGE_TYPES)}.")
    try:
        spec = build_spec(platform_id=state.platform_id, **keywords)
    except (TypeError, ValueError) as error:
        raise PageError(str(error)) from None
    return redirect(_with_query(tool_url, ltik=state.add_launch(spec).ltik))


def _register(state: FakeState, request: ApiRequest) -> Response:
    tool_url = _tool_url(request)
    return redirect(_with_query(tool_url, registrationId=state.new_registration()))


def _deep_linking_return(state: FakeState, request: ApiRequest) -> Response:
    """The LMS's end of deep linking: check the message LTIAAS signed, record its items, say what came."""
    fields = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        claims = jwt.decode(
            fields.get("JWT", ""),
            state.secret,
            algorithms=["HS256"],
            audience=PLATFORM_URL,
            options={"require": ["iat", "exp"]},
        )
    except jwt.PyJWTError:
        raise PageError("This is not a deep-linking response LTIAAS signed (or it has expired).") from None
    claim = "https://purl.imsglobal.org/spec/lti-dl/claim/"
    items = list(claims.get(claim + "content_items", []))
    returned = DeepLinkReturn(
        content_items=items,
        message=claims.get(claim + "msg"),
        log=claims.get(claim + "log"),
        error_message=claims.get(claim + "errormsg"),
        error_log=claims.get(claim + "errorlog"),
        claims=claims,
    )
    state.deep_link_returns.append(returned)
    shown = (str(item.get("title") or item.get("url") or item.get("type")) for item in items)
    listed = "".join(f"<li>{html.escape(text)}</li>" for text in shown)
    note = f'<p id="message">{html.escape(returned.message)}</p>' if returned.message else ""
    body = (
        f"<h1>{html.escape(PLATFORM_NAME)}: content added</h1>"
        f'<p id="received">Received {len(items)} content item{"" if len(items) == 1 else "s"}.</p>'
        f'{note}<ul id="items">{listed}</ul>'
    )
    return page("FakeLtiaas: deep linking", body)


ROUTES: tuple[Route, ...] = (
    Route("GET", ("",), None, _picker),
    Route("GET", ("lti", "launch"), None, _launch),
    Route("GET", ("lti", "register"), None, _register),
    Route("POST", tuple(DEEP_LINKING_RETURN_PATH.strip("/").split("/")), None, _deep_linking_return),
)
