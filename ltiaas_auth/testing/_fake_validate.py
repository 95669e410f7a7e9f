"""Request-body checks: the fake refuses (400, LTIAAS shape) what LTIAAS or the LMS would refuse.

Being strict here is the point: a client that sends a number as a string, a date without an offset or
`user_id` instead of `userId` fails against the fake as it would in production. A `null` field is taken as
absent, as LTIAAS does (its own Python client sends `null` for every unset optional field), so a required
field sent as `null` is missing. Unknown fields are dropped, never echoed back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ltiaas_auth.testing._fake_http import bad_request

T = TypeVar("T")

_MISSING: Any = object()
ACTIVITY_PROGRESS = ("Initialized", "Initiated", "Started", "InProgress", "Submitted", "Completed")
GRADING_PROGRESS = ("FullyGraded", "Pending", "PendingManual", "Failed", "NotReady")
CONTENT_ITEM_TYPES = ("ltiResourceLink", "link", "file", "html", "image")
AUTH_METHODS = ("JWK_SET", "JWK_KEY", "RSA_KEY")


def json_object(body: bytes, *, empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}`` where every field is optional."""
    if empty_ok and not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object.")
    return value


def text(
    data: dict[str, Any], name: str, *, required: bool = False, choices: Collection[str] = ()
) -> str | None:
    value = _get(data, name, required)
    if value is _MISSING:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise bad_request(
            f"`{name}` must be a non-empty string." if required else f"`{name}` must be a string."
        )
    if choices and value not in choices:
        raise bad_request(f"`{name}` must be one of {', '.join(choices)}.")
    return value


def number(
    data: dict[str, Any], name: str, *, required: bool = False, positive: bool = False
) -> float | None:
    """A finite JSON number (never a bool or a numeric string), >= 0, or > 0 when `positive`."""
    value = _get(data, name, required)
    if value is _MISSING:
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not is_number or value < 0 or (positive and value == 0):
        raise bad_request(f"`{name}` must be a number {'> 0' if positive else '>= 0'}.")
    return cast(float, value)


def boolean(data: dict[str, Any], name: str) -> bool | None:
    return _typed(data, name, bool, "a boolean", required=False)


def timestamp(data: dict[str, Any], name: str) -> str | None:
    """An ISO 8601 date-time with `Z` or an offset, normalised to UTC with `Z`."""
    value = text(data, name)
    if value is None:
        return None
    problem = bad_request(f"`{name}` must be an ISO 8601 date-time with Z or an offset.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise problem from None
    if moment.tzinfo is None:
        raise problem
    return iso(moment)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mapping(data: dict[str, Any], name: str, *, required: bool = False) -> dict[str, Any] | None:
    return _typed(data, name, dict, "an object", required=required)


def array(data: dict[str, Any], name: str, *, required: bool = False) -> list[Any] | None:
    return _typed(data, name, list, "an array", required=required)


def _typed(data: dict[str, Any], name: str, kind: type[T], what: str, *, required: bool) -> T | None:
    """The field when it is a ``kind`` (JSON's ``what``), None when absent; anything else is refused."""
    value = _get(data, name, required)
    if value is _MISSING:
        return None
    if not isinstance(value, kind):
        raise bad_request(f"`{name}` must be {what}.")
    return value


def line_item(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a line item (POST and PUT replace them all)."""
    fields = {
        "label": text(body, "label", required=True),
        "scoreMaximum": number(body, "scoreMaximum", required=True, positive=True),
        "resourceLinkId": text(body, "resourceLinkId"),
        "resourceId": text(body, "resourceId"),
        "tag": text(body, "tag"),
        "startDateTime": timestamp(body, "startDateTime"),
        "endDateTime": timestamp(body, "endDateTime"),
        "gradesReleased": boolean(body, "gradesReleased"),
    }
    return _present(fields)


def score(body: dict[str, Any]) -> dict[str, Any]:
    """A score submission; `scoreMaximum` must come with `scoreGiven` (0 is a valid score)."""
    fields = {
        "userId": text(body, "userId", required=True),
        "activityProgress": text(body, "activityProgress", required=True, choices=ACTIVITY_PROGRESS),
        "gradingProgress": text(body, "gradingProgress", required=True, choices=GRADING_PROGRESS),
        "scoreGiven": number(body, "scoreGiven"),
        "scoreMaximum": number(
            body, "scoreMaximum", required=body.get("scoreGiven") is not None, positive=True
        ),
        "comment": text(body, "comment"),
        "timestamp": timestamp(body, "timestamp"),
    }
    return _present(fields)


def deep_linking(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """`contentItems` (objects with a known `type`) and the optional `options` strings."""
    items = array(body, "contentItems", required=True) or []
    for item in items:
        if not isinstance(item, dict) or item.get("type") not in CONTENT_ITEM_TYPES:
            raise bad_request(f"Each content item needs a `type` among {', '.join(CONTENT_ITEM_TYPES)}.")
    items = [_without_nulls(item) for item in items]
    options = mapping(body, "options") or {}
    names = ("message", "log", "errMessage", "errLog")
    return items, _present({name: text(options, name) for name in names})


def platform(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """A platform registration; with `partial` (PUT) every field is optional."""
    required = not partial
    auth = mapping(body, "authConfig", required=required)
    if auth is not None:
        method = text(auth, "method", required=True, choices=AUTH_METHODS)
        auth = {"key": text(auth, "key", required=True), "method": method}
    fields = {
        "url": text(body, "url", required=required),
        "clientId": text(body, "clientId", required=required),
        "name": text(body, "name", required=required),
        "authenticationEndpoint": text(body, "authenticationEndpoint", required=required),
        "accesstokenEndpoint": text(body, "accesstokenEndpoint", required=required),
        "authConfig": auth,
        "authorizationServer": text(body, "authorizationServer"),
        "active": boolean(body, "active"),
    }
    return _present(fields)


def registration_options(body: dict[str, Any]) -> tuple[str | None, bool]:
    """`platformName` and `autoActivate` of a registration completion; `messages` is checked, not kept."""
    for message in array(body, "messages") or []:
        if not isinstance(message, dict):
            raise bad_request("Each of `messages` must be an object.")
        text(message, "type", required=True)
        for placement in array(message, "placements") or []:
            if not isinstance(placement, str):
                raise bad_request("`placements` must be strings.")
    return text(body, "platformName"), bool(boolean(body, "autoActivate"))


def _get(data: dict[str, Any], name: str, required: bool) -> Any:
    """The field's value, or _MISSING when absent or `null` (LTIAAS reads a `null` as an unset field)."""
    value = data.get(name)
    if value is None:
        value = _MISSING
    if value is _MISSING and required:
        raise bad_request(f"`{name}` is required.")
    return value


def _without_nulls(value: Any) -> Any:
    """`value` with every `null` member of its objects left out, at any depth (unset, for LTIAAS)."""
    if isinstance(value, dict):
        return {name: _without_nulls(each) for name, each in value.items() if each is not None}
    if isinstance(value, list):
        return [_without_nulls(each) for each in value]
    return value


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
