"""The demo tool: a small Flask app behind ``LtiaasMiddleware``, written as a real tool would be.

Routes:

- ``GET /launch``: the launch URL LTIAAS redirects to with ``?ltik=``; greets the user in their course
  (from the launch's idtoken, fetched once and cached).
- ``GET /api/roster``: the course roster from LTIAAS (``GET /api/memberships``, every page).
- ``POST /api/grade`` with ``{"scoreGiven": 0..10}``: posts the user's score to the LMS gradebook
  (``POST /api/lineitems/<id>/scores``) and answers with the result the LMS then holds.

The browser sends the ltik as ``Authorization: Bearer`` to the API routes. The tool's own calls to LTIAAS go
through :class:`ltiaas_auth.api.LtiaasClient`, which authenticates with the current launch's
``LTIK-AUTH-V2`` header and sends it only to the config's origin, so the API key never leaves the server
for anywhere else. Errors answer in LTIAAS's error shape; a refused launch of the page renders as HTML for
the person in front of it.
"""

from __future__ import annotations

import itertools
import json
import secrets
import weakref
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from ..api import IdToken, LtiaasClient
from ..errors import LtiaasAuthError, MissingLtik, UpstreamError
from ..wsgi import LtiaasMiddleware
from .page import content_security_policy, error_page, launch_page

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ..config import LtiaasConfig

__all__ = ["LINE_ITEM_LABEL", "SCORE_MAXIMUM", "create_app", "rejection_app"]

LINE_ITEM_LABEL = "Demo quiz"
SCORE_MAXIMUM = 10
_MAX_MEMBERS = 2000  # a roster is cut here rather than read without end


def create_app(config: LtiaasConfig) -> Flask:
    """The demo tool for ``config``'s LTIAAS, with ``LtiaasMiddleware`` around Flask's WSGI app."""
    app = Flask(__name__)
    # One client for the app's life: its connections to LTIAAS are pooled and kept alive, and closed
    # when the app goes away.
    ltiaas = app.extensions["ltiaas_client"] = LtiaasClient(config)
    weakref.finalize(app, ltiaas.close)
    # Outermost, so every request (and every Flask extension) sees the launch. Only the favicon, which
    # browsers fetch on their own without any ltik, is exempt. prefetch_idtoken lets through only ltiks
    # LTIAAS accepts (the idtoken is cached, so that costs one fetch per launch).
    app.wsgi_app = LtiaasMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, config, exempt=("/favicon.ico",), prefetch_idtoken=True, error_app=rejection_app
    )

    @app.get("/launch")
    def launch() -> Response:
        idtoken = ltiaas.idtoken()  # from the cache the middleware filled
        nonce = secrets.token_urlsafe(16)
        page = launch_page(
            name=_user_name(idtoken),
            course=_course_title(idtoken),
            roles=_short_roles(idtoken.user.roles),
            nonce=nonce,
        )
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = content_security_policy(nonce)
        _private(response)
        return response

    @app.get("/api/roster")
    def roster() -> Response:
        idtoken = ltiaas.idtoken()
        members = itertools.islice(ltiaas.memberships(), _MAX_MEMBERS)  # follows every `next` page
        return _json_response(
            {
                "course": _course_title(idtoken),
                "members": [
                    {
                        "name": member.name or member.user_id,
                        "roles": _short_roles(member.roles),
                        "you": member.user_id == idtoken.user.id,
                    }
                    for member in members
                ],
            }
        )

    @app.post("/api/grade")
    def grade() -> Response:
        body = request.get_json(silent=True)
        score = body.get("scoreGiven") if isinstance(body, dict) else None
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= SCORE_MAXIMUM:
            return _error(400, "INVALID_SCORE", f"scoreGiven must be a number from 0 to {SCORE_MAXIMUM}.")
        idtoken = ltiaas.idtoken()
        grades = idtoken.services.assignment_and_grades if idtoken.services else None
        if grades is None or not grades.available:
            return _error(
                400, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT", "Grades are not available for this launch."
            )
        item_id = _line_item(ltiaas, idtoken)
        user_id = idtoken.user.id
        ltiaas.submit_score(item_id, user_id=user_id, score_given=score, score_maximum=SCORE_MAXIMUM)
        results = list(ltiaas.results(item_id, user_id=user_id))
        if not results:
            return _error(502, "NO_RESULT", "The LMS holds no result for this score.")
        return _json_response(
            {
                "lineItem": LINE_ITEM_LABEL,
                "scoreGiven": results[0].result_score,
                "scoreMaximum": results[0].result_maximum,
            }
        )

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)

    @app.errorhandler(LtiaasAuthError)
    def ltiaas_error(error: LtiaasAuthError) -> Response:
        # The code and description of our errors never hold a key or a token.
        return _json_response(error.to_body(), error.status)

    return app


def rejection_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The middleware's ``error_app``: LTIAAS-shaped JSON for the API, an HTML page for a person.

    The middleware adds ``Referrer-Policy`` itself when the refused request had an ltik in its URL.
    """
    error: LtiaasAuthError = environ["ltiaas_auth.error"]
    phrase = HTTPStatus(error.status).phrase
    headers = [("Cache-Control", "no-store")]
    if environ.get("PATH_INFO", "").startswith("/api/"):
        body = json.dumps(error.to_body()).encode()
        headers.append(("Content-Type", "application/json"))
    else:
        nonce = secrets.token_urlsafe(16)
        body = error_page(error, phrase=phrase, nonce=nonce).encode()
        headers += [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", content_security_policy(nonce)),
        ]
    if error.status == HTTPStatus.UNAUTHORIZED:
        challenge = "Bearer" if isinstance(error, MissingLtik) else 'Bearer error="invalid_token"'
        headers.append(("WWW-Authenticate", challenge))
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{error.status} {phrase}", headers)
    return [body]


def _line_item(ltiaas: LtiaasClient, idtoken: IdToken) -> str:
    """The id of the launch's line item: the one LTIAAS names, else ours for this link (made once)."""
    grades = idtoken.services.assignment_and_grades if idtoken.services else None
    if grades is not None and grades.line_item_id:
        return grades.line_item_id
    launch = idtoken.launch
    link = launch.resource_link.id if launch is not None and launch.resource_link is not None else None
    for item in ltiaas.line_items(resource_link_id=link):
        if item.label == LINE_ITEM_LABEL and item.id:
            return item.id
    created = ltiaas.create_line_item(
        label=LINE_ITEM_LABEL, score_maximum=SCORE_MAXIMUM, resource_link_id=link
    )
    if not created.id:
        raise UpstreamError("LTIAAS created the line item without an id.")
    return created.id


def _user_name(idtoken: IdToken) -> str:
    user = idtoken.user
    return user.name or user.given_name or user.id or "there"


def _course_title(idtoken: IdToken) -> str:
    context = idtoken.launch.context if idtoken.launch is not None else None
    if context is None:
        return "this course"
    return context.title or context.label or context.id or "this course"


def _short_roles(roles: Iterable[str]) -> list[str]:
    """``Learner`` for ``http://purl.imsglobal.org/vocab/lis/v2/membership#Learner``."""
    return [str(role).rpartition("#")[2] for role in roles]


def _json_response(body: Any, status: int = 200) -> Response:
    return _private(jsonify(body), status)


def _error(status: int, code: str, description: str) -> Response:
    details = {"message": code, "description": description}
    return _json_response({"status": status, "error": HTTPStatus(status).phrase, "details": details}, status)


def _private(response: Response, status: int | None = None) -> Response:
    """Per-user answers: never stored by a browser or a shared cache."""
    if status is not None:
        response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
