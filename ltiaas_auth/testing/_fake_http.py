"""LTIAAS's wire conventions for the fake: its error shape and its JSON responses."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from werkzeug.wrappers import Response

INVALID_AUTH = "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
INVALID_LTIK = "Invalid or expired ltik."
INVALID_API_KEY = "Invalid API key"
NOT_AVAILABLE = "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"
VALIDATION_ERROR = "VALIDATION_ERROR"
NOT_FOUND = "NOT_FOUND"


def reason(status: int) -> str:
    """The reason phrase LTIAAS puts in `error` (``Unknown`` for codes outside the registry)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def error_body(status: int, message: str | None = None, description: str | None = None) -> dict[str, Any]:
    """LTIAAS's error shape; by default `details.message` is the reason phrase as a CODE."""
    if message is None:
        message = INVALID_AUTH if status == 401 else re.sub(r"\W+", "_", reason(status)).upper()
        if description is None and status == 401:
            description = INVALID_LTIK
    details = {"message": message}
    if description is not None:
        details["description"] = description
    return {"status": status, "error": reason(status), "details": details}


class ApiError(Exception):
    """Raised by a handler to answer in LTIAAS's error shape."""

    def __init__(self, status: int, message: str, description: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.description = description

    def response(self) -> Response:
        return json_response(error_body(self.status, self.message, self.description), self.status)


def bad_request(description: str) -> ApiError:
    return ApiError(400, VALIDATION_ERROR, description)


def not_found(what: str) -> ApiError:
    return ApiError(404, NOT_FOUND, f"{what} not found.")


def json_response(payload: Any, status: int = 200) -> Response:
    """A JSON answer that no cache keeps (the bodies carry credentials such as service keys)."""
    body = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    return raw_response(body.encode(), status, "application/json")


def raw_response(body: bytes, status: int, content_type: str = "application/json") -> Response:
    response = Response(body, status=status, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def empty_response() -> Response:
    return Response(status=204)
