"""The demo tool: a small Flask app behind ``LtiaasMiddleware``, written as a real tool would be.

Routes:

- ``GET /launch``: the launch URL LTIAAS redirects to with ``?ltik=``; greets the user in their course
  (from the launch's idtoken, fetched once and cached).
- ``GET /api/roster``: the course roster from LTIAAS (``GET /api/memberships``, following ``next`` pages).
- ``POST /api/grade`` with ``{"scoreGiven": 0..10}``: posts the user's score to the LMS gradebook
  (``POST /api/lineitems/<id>/scores``) and answers with the result the LMS then holds.

The browser sends the ltik as ``Authorization: Bearer`` to the API routes. The tool's own calls to LTIAAS go
through :mod:`ltiaas_auth.clients.urllib`, which adds the current launch's ``LTIK-AUTH-V2`` header and
pins the LTIAAS origin, so the API key never leaves the server for anywhere else. Errors answer in
LTIAAS's error shape; a refused launch of the page renders as HTML for the person in front of it.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from http import HTTPStatus
from http.client import HTTPException
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode

from flask import Flask, Response, jsonify, request

from ..clients.urllib import build_opener
from ..context import current_launch
from ..errors import LtiaasAuthError, MissingLtik, UpstreamError
from ..wsgi import LtiaasMiddleware
from .page import content_security_policy, error_page, launch_page

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ..config import LtiaasConfig

__all__ = ["LINE_ITEM_LABEL", "SCORE_MAXIMUM", "LtiaasApi", "create_app", "rejection_app"]

LINE_ITEM_LABEL = "Demo quiz"
SCORE_MAXIMUM = 10
_MAX_PAGES = 20  # a roster larger than this many pages is cut, rather than looping on a bad `next`


class LtiaasApi:
    """The tool's calls to LTIAAS, with the current credential, over the standard library's urllib.

    ``ltiaas_auth.clients.urllib`` adds ``Authorization`` for the current launch and refuses any origin
    but the config's; proxies are skipped for a loopback LTIAAS (the local fake).
    """

    def __init__(self, config: LtiaasConfig) -> None:
        self.config = config
        direct = [urllib.request.ProxyHandler({})] if config.origin[0] == "http" else []
        self._opener = build_opener(config, *direct)

    def __repr__(self) -> str:
        return f"LtiaasApi({self.config!r})"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """``method path`` on LTIAAS; the parsed JSON answer (None when empty), else ``UpstreamError``."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        outbound = urllib.request.Request(  # noqa: S310 - base_url is https, or http to loopback only
            self.config.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with self._opener.open(outbound, timeout=self.config.timeout) as response:
                raw = response.read()
        except HTTPError as error:
            with error:
                answer = _json(error.read())
            # LTIAAS's error body ({status, error, details}) is kept; anything else is not passed on.
            upstream = answer if isinstance(answer, dict) and isinstance(answer.get("status"), int) else None
            raise UpstreamError(
                f"LTIAAS answered {error.code} to {method} {path.partition('?')[0]}.",
                upstream_status=error.code,
                body=upstream,
            ) from None
        except (OSError, HTTPException) as error:
            raise UpstreamError(f"LTIAAS could not be reached ({type(error).__name__}).") from None
        if not raw:
            return None
        answer = _json(raw)
        if answer is None:
            raise UpstreamError(
                "LTIAAS answered with a body that is not JSON.", upstream_status=response.status
            )
        return answer


def create_app(config: LtiaasConfig) -> Flask:
    """The demo tool for ``config``'s LTIAAS, with ``LtiaasMiddleware`` around Flask's WSGI app."""
    app = Flask(__name__)
    ltiaas = LtiaasApi(config)
    # Outermost, so every request (and every Flask extension) sees the launch. Only the favicon, which
    # browsers fetch on their own without any ltik, is exempt. prefetch_idtoken lets through only ltiks
    # LTIAAS accepts (the idtoken is cached, so that costs one fetch per launch).
    app.wsgi_app = LtiaasMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, config, exempt=("/favicon.ico",), prefetch_idtoken=True, error_app=rejection_app
    )

    @app.get("/launch")
    def launch() -> Response:
        idtoken = current_launch().idtoken()
        nonce = secrets.token_urlsafe(16)
        page = launch_page(
            name=_user_name(idtoken),
            course=_course_title(idtoken),
            roles=_short_roles(idtoken.get("user", {}).get("roles", [])),
            nonce=nonce,
        )
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = content_security_policy(nonce)
        _private(response)
        return response

    @app.get("/api/roster")
    def roster() -> Response:
        idtoken = current_launch().idtoken()
        me = idtoken.get("user", {}).get("id")
        answer = ltiaas.call("GET", "/api/memberships")
        members: list[dict[str, Any]] = list(answer.get("members", []))
        for _ in range(_MAX_PAGES - 1):
            link = answer.get("next")
            if not isinstance(link, str) or not link:
                break
            # A page link is passed back as `url`, percent-encoded exactly once.
            answer = ltiaas.call("GET", "/api/memberships?" + urlencode({"url": link}))
            members.extend(answer.get("members", []))
        return _json_response(
            {
                "course": _course_title(idtoken),
                "members": [
                    {
                        "name": member.get("name") or member.get("userId", "?"),
                        "roles": _short_roles(member.get("roles", [])),
                        "you": member.get("userId") == me,
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
        idtoken = current_launch().idtoken()
        if not idtoken.get("services", {}).get("assignmentAndGrades", {}).get("available"):
            return _error(
                400, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT", "Grades are not available for this launch."
            )
        item_id = _line_item(ltiaas, idtoken)
        user_id = idtoken["user"]["id"]
        # A line item id is a URL: percent-encoded once, "/" included, to stand in the path.
        scores = f"/api/lineitems/{quote(item_id, safe='')}/scores"
        ltiaas.call(
            "POST",
            scores,
            {
                "userId": user_id,
                "scoreGiven": score,
                "scoreMaximum": SCORE_MAXIMUM,
                "activityProgress": "Completed",
                "gradingProgress": "FullyGraded",
            },
        )
        results = ltiaas.call("GET", scores + "?" + urlencode({"userId": user_id}))["scores"]
        if not results:
            return _error(502, "NO_RESULT", "The LMS holds no result for this score.")
        return _json_response(
            {
                "lineItem": LINE_ITEM_LABEL,
                "scoreGiven": results[0]["resultScore"],
                "scoreMaximum": results[0]["resultMaximum"],
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


def _line_item(ltiaas: LtiaasApi, idtoken: dict[str, Any]) -> str:
    """The id of the launch's line item: the one LTIAAS names, else ours for this link (made once)."""
    named = idtoken["services"]["assignmentAndGrades"].get("lineItemId")
    if isinstance(named, str) and named:
        return named
    link = idtoken.get("launch", {}).get("resourceLink", {}).get("id")
    query = "?" + urlencode({"resourceLinkId": link}) if link else ""
    for item in ltiaas.call("GET", "/api/lineitems" + query).get("lineItems", []):
        if item.get("label") == LINE_ITEM_LABEL:
            return str(item["id"])
    fields: dict[str, Any] = {"label": LINE_ITEM_LABEL, "scoreMaximum": SCORE_MAXIMUM}
    if link:
        fields["resourceLinkId"] = link
    return str(ltiaas.call("POST", "/api/lineitems", fields)["id"])


def _user_name(idtoken: dict[str, Any]) -> str:
    user = idtoken.get("user", {})
    return str(user.get("name") or user.get("givenName") or user.get("id", "there"))


def _course_title(idtoken: dict[str, Any]) -> str:
    context = idtoken.get("launch", {}).get("context") or {}
    return str(context.get("title") or context.get("label") or context.get("id") or "this course")


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


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
