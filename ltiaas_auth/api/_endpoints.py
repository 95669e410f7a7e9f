"""Every LTIAAS endpoint the client calls, each described once: the one table both clients share.

An :class:`Endpoint` says what is sent (method, path template, accepted ``Authorization`` schemes) and
how the answer is read (a parser, or the key of a listing's items). The functions below it turn a
method's keyword arguments into a :class:`Call` (path ids, query, JSON body); they are pure, do no I/O,
and are the methods of :class:`~ltiaas_auth.api.LtiaasClient` and :class:`~ltiaas_auth.api.AsyncLtiaasClient`
(each client wraps them with its own transport), so no endpoint is written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from ..headers import API_KEY_SCHEME, LAUNCH_SCHEME, SERVICE_SCHEME
from .models import (
    ActivityProgress,
    AuthConfig,
    ContentItem,
    DeepLinkingComponents,
    GradingProgress,
    IdToken,
    LineItem,
    Member,
    Platform,
    Registration,
    RegistrationCompletion,
    Result,
    Score,
)

T = TypeVar("T")

Method = Literal["GET", "POST", "PUT", "DELETE"]
QueryValue = str | int | bool | None

LAUNCH_ONLY = (LAUNCH_SCHEME,)
LAUNCH_OR_SERVICE = (LAUNCH_SCHEME, SERVICE_SCHEME)
API_KEY_ONLY = (API_KEY_SCHEME,)
#: Stands for the client's ``platforms_path`` (``/admin/platforms`` or ``/api/platforms``) in a path.
PLATFORMS = "{platforms}"


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[T]):
    """One LTIAAS endpoint. ``path`` has a ``{}`` per path id; ``parse`` reads a 2xx JSON body (None
    when empty) into the result, or one listing item when ``items`` names the listing's key."""

    name: str
    method: Method
    path: str
    schemes: tuple[str, ...]
    parse: Callable[[Any], T]
    items: str | None = None
    #: Read through the config's idtoken cache (one cache, one single flight) rather than sent.
    cached: bool = False

    @property
    def idempotent(self) -> bool:
        """Whether a failed attempt may be repeated (never a POST)."""
        return self.method != "POST"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One call of an endpoint: what to put in its path, query and body. Built by the functions below."""

    endpoint: Endpoint[T]
    ids: tuple[str, ...] = ()
    query: tuple[tuple[str, QueryValue], ...] = ()
    body: Mapping[str, Any] | None = field(default=None, repr=False)
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Listing(Call[T]):
    """A call whose answer is a page of items with a ``next`` link: the clients iterate over the items."""


def _none(_body: Any) -> None:
    return None


def _form(body: Any) -> str:
    form = body.get("form") if isinstance(body, dict) else None
    if not isinstance(form, str):
        raise ValueError("the answer has no `form` string")
    return form


def _dict(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("the answer is not a JSON object")
    return body


# --- the table

IDTOKEN = Endpoint("idtoken", "GET", "/api/idtoken", LAUNCH_ONLY, IdToken.from_json, cached=True)
RAW_IDTOKEN = Endpoint("raw_idtoken", "GET", "/api/idtoken", LAUNCH_ONLY, _dict)
MEMBERSHIPS = Endpoint(
    "memberships", "GET", "/api/memberships", LAUNCH_OR_SERVICE, Member.from_json, items="members"
)
LINE_ITEMS = Endpoint(
    "line_items", "GET", "/api/lineitems", LAUNCH_OR_SERVICE, LineItem.from_json, items="lineItems"
)
CREATE_LINE_ITEM = Endpoint(
    "create_line_item", "POST", "/api/lineitems", LAUNCH_OR_SERVICE, LineItem.from_json
)
LINE_ITEM = Endpoint("line_item", "GET", "/api/lineitems/{}", LAUNCH_OR_SERVICE, LineItem.from_json)
UPDATE_LINE_ITEM = Endpoint(
    "update_line_item", "PUT", "/api/lineitems/{}", LAUNCH_OR_SERVICE, LineItem.from_json
)
DELETE_LINE_ITEM = Endpoint("delete_line_item", "DELETE", "/api/lineitems/{}", LAUNCH_OR_SERVICE, _none)
SUBMIT_SCORE = Endpoint("submit_score", "POST", "/api/lineitems/{}/scores", LAUNCH_OR_SERVICE, _none)
RESULTS = Endpoint(
    "results", "GET", "/api/lineitems/{}/scores", LAUNCH_OR_SERVICE, Result.from_json, items="scores"
)
DEEP_LINKING_FORM = Endpoint("deep_linking_form", "POST", "/api/deeplinking/form", LAUNCH_ONLY, _form)
DEEP_LINKING_COMPONENTS = Endpoint(
    "deep_linking_components", "POST", "/api/deeplinking", LAUNCH_ONLY, DeepLinkingComponents.from_json
)
REGISTRATION = Endpoint("registration", "GET", "/api/registrations/{}", API_KEY_ONLY, Registration.from_json)
COMPLETE_REGISTRATION = Endpoint(
    "complete_registration",
    "POST",
    "/api/registrations/{}/complete",
    API_KEY_ONLY,
    RegistrationCompletion.from_json,
)
PLATFORM_LIST = Endpoint("platforms", "GET", PLATFORMS, API_KEY_ONLY, Platform.from_json, items="platforms")
PLATFORM = Endpoint("platform", "GET", PLATFORMS + "/{}", API_KEY_ONLY, Platform.from_json)
REGISTER_PLATFORM = Endpoint("register_platform", "POST", PLATFORMS, API_KEY_ONLY, Platform.from_json)
UPDATE_PLATFORM = Endpoint("update_platform", "PUT", PLATFORMS + "/{}", API_KEY_ONLY, Platform.from_json)
DELETE_PLATFORM = Endpoint("delete_platform", "DELETE", PLATFORMS + "/{}", API_KEY_ONLY, _none)
ACTIVATE_PLATFORM = Endpoint("activate_platform", "POST", PLATFORMS + "/{}/activate", API_KEY_ONLY, _none)
DEACTIVATE_PLATFORM = Endpoint(
    "deactivate_platform", "POST", PLATFORMS + "/{}/deactivate", API_KEY_ONLY, _none
)


# --- the methods: keyword arguments -> Call


def idtoken(*, timeout: float | None = None) -> Call[IdToken]:
    """The launch's idtoken as an ``IdToken``, through the config's cache (one fetch per launch)."""
    return Call(IDTOKEN, timeout=timeout)


def raw_idtoken(*, timeout: float | None = None) -> Call[dict[str, Any]]:
    """The LMS's own launch claims (``GET /api/idtoken?raw=true``) as a dict."""
    return Call(RAW_IDTOKEN, query=(("raw", True),), timeout=timeout)


def memberships(
    *,
    role: str | None = None,
    resource_link_id: str | None = None,
    limit: int | None = None,
    timeout: float | None = None,
) -> Listing[Member]:
    """The course roster, member by member, following ``next`` (``limit`` is the page size).

    ``role`` filters by a role (a short name such as ``"Learner"`` or a full role URI)."""
    query = (("role", role), ("resourceLinkId", resource_link_id), ("limit", _limit(limit)))
    return Listing(MEMBERSHIPS, query=query, timeout=timeout)


def line_items(
    *,
    resource_link_id: str | None = None,
    resource_id: str | None = None,
    tag: str | None = None,
    limit: int | None = None,
    timeout: float | None = None,
) -> Listing[LineItem]:
    """The course's line items (gradebook columns), following ``next``."""
    query = (
        ("resourceLinkId", resource_link_id),
        ("resourceId", resource_id),
        ("tag", tag),
        ("limit", _limit(limit)),
    )
    return Listing(LINE_ITEMS, query=query, timeout=timeout)


def create_line_item(
    *,
    label: str,
    score_maximum: float,
    resource_link_id: str | None = None,
    resource_id: str | None = None,
    tag: str | None = None,
    start_date_time: datetime | None = None,
    end_date_time: datetime | None = None,
    grades_released: bool | None = None,
    timeout: float | None = None,
) -> Call[LineItem]:
    """Create a line item; LTIAAS answers with it, ``id`` included."""
    item = LineItem(
        label=label,
        score_maximum=score_maximum,
        resource_link_id=resource_link_id,
        resource_id=resource_id,
        tag=tag,
        start_date_time=start_date_time,
        end_date_time=end_date_time,
        grades_released=grades_released,
    )
    return Call(CREATE_LINE_ITEM, body=item.to_json(), timeout=timeout)


def line_item(id: str, /, *, timeout: float | None = None) -> Call[LineItem]:
    """One line item by its id (the URL LTIAAS gave it)."""
    return Call(LINE_ITEM, ids=(id,), timeout=timeout)


def update_line_item(
    id: str,
    /,
    *,
    label: str,
    score_maximum: float,
    resource_link_id: str | None = None,
    resource_id: str | None = None,
    tag: str | None = None,
    start_date_time: datetime | None = None,
    end_date_time: datetime | None = None,
    grades_released: bool | None = None,
    timeout: float | None = None,
) -> Call[LineItem]:
    """Replace a line item (LTIAAS's PUT is a full replacement: fields left out are cleared)."""
    item = LineItem(
        label=label,
        score_maximum=score_maximum,
        resource_link_id=resource_link_id,
        resource_id=resource_id,
        tag=tag,
        start_date_time=start_date_time,
        end_date_time=end_date_time,
        grades_released=grades_released,
    )
    return Call(UPDATE_LINE_ITEM, ids=(id,), body=item.to_json(), timeout=timeout)


def delete_line_item(id: str, /, *, timeout: float | None = None) -> Call[None]:
    """Delete a line item and its results."""
    return Call(DELETE_LINE_ITEM, ids=(id,), timeout=timeout)


def submit_score(
    line_item_id: str,
    /,
    *,
    user_id: str,
    score_given: float | None = None,
    score_maximum: float | None = None,
    activity_progress: ActivityProgress | str = ActivityProgress.COMPLETED,
    grading_progress: GradingProgress | str = GradingProgress.FULLY_GRADED,
    comment: str | None = None,
    timestamp: datetime | None = None,
    timeout: float | None = None,
) -> Call[None]:
    """Send a user's score to the LMS (0 is a score). Without ``timestamp`` LTIAAS stamps the score
    with the time it receives it; leaving out ``score_given`` clears the user's result, as LTI AGS
    defines."""
    score = Score(
        user_id=user_id,
        activity_progress=ActivityProgress(activity_progress).value,
        grading_progress=GradingProgress(grading_progress).value,
        score_given=score_given,
        score_maximum=score_maximum,
        comment=comment,
        timestamp=timestamp,
    )
    return Call(SUBMIT_SCORE, ids=(line_item_id,), body=score.to_json(), timeout=timeout)


def results(
    line_item_id: str,
    /,
    *,
    user_id: str | None = None,
    limit: int | None = None,
    timeout: float | None = None,
) -> Listing[Result]:
    """The results the LMS holds for a line item (all users, or ``user_id``'s), following ``next``."""
    query = (("userId", user_id), ("limit", _limit(limit)))
    return Listing(RESULTS, ids=(line_item_id,), query=query, timeout=timeout)


def deep_linking_form(
    items: Iterable[ContentItem | Mapping[str, Any]],
    *,
    message: str | None = None,
    log: str | None = None,
    error_message: str | None = None,
    error_log: str | None = None,
    timeout: float | None = None,
) -> Call[str]:
    """The self-submitting HTML form that returns ``items`` to the LMS (send it as the page's body)."""
    body = _deep_linking(items, message, log, error_message, error_log)
    return Call(DEEP_LINKING_FORM, body=body, timeout=timeout)


def deep_linking_components(
    items: Iterable[ContentItem | Mapping[str, Any]],
    *,
    message: str | None = None,
    log: str | None = None,
    error_message: str | None = None,
    error_log: str | None = None,
    timeout: float | None = None,
) -> Call[DeepLinkingComponents]:
    """The signed deep-linking response (``.message``) and where to post it (``.target``), to build the
    form yourself."""
    body = _deep_linking(items, message, log, error_message, error_log)
    return Call(DEEP_LINKING_COMPONENTS, body=body, timeout=timeout)


def registration(id: str, /, *, timeout: float | None = None) -> Call[Registration]:
    """A dynamic registration request (``Bearer`` API key; no launch needed)."""
    return Call(REGISTRATION, ids=(id,), timeout=timeout)


def complete_registration(
    id: str,
    /,
    *,
    platform_name: str | None = None,
    auto_activate: bool | None = None,
    messages: Iterable[Mapping[str, Any]] | None = None,
    timeout: float | None = None,
) -> Call[RegistrationCompletion]:
    """Complete a dynamic registration: the LMS becomes a platform (active at once with ``auto_activate``)."""
    body = _present(
        platformName=platform_name,
        autoActivate=auto_activate,
        messages=[dict(m) for m in messages] if messages is not None else None,
    )
    return Call(COMPLETE_REGISTRATION, ids=(id,), body=body, timeout=timeout)


def platforms(
    *, url: str | None = None, client_id: str | None = None, timeout: float | None = None
) -> Listing[Platform]:
    """The registered platforms, optionally only those of one LMS ``url`` / ``client_id``."""
    return Listing(PLATFORM_LIST, query=(("url", url), ("clientId", client_id)), timeout=timeout)


def platform(id: str, /, *, timeout: float | None = None) -> Call[Platform]:
    """One registered platform."""
    return Call(PLATFORM, ids=(id,), timeout=timeout)


def register_platform(
    *,
    url: str,
    client_id: str,
    name: str,
    authentication_endpoint: str,
    accesstoken_endpoint: str,
    auth_config: AuthConfig | Mapping[str, str],
    authorization_server: str | None = None,
    active: bool | None = None,
    timeout: float | None = None,
) -> Call[Platform]:
    """Register an LMS by hand; LTIAAS answers with the platform, ``id`` and ``public_key`` included."""
    body = Platform(
        url=url,
        client_id=client_id,
        name=name,
        authentication_endpoint=authentication_endpoint,
        accesstoken_endpoint=accesstoken_endpoint,
        auth_config=_auth_config(auth_config),
        authorization_server=authorization_server,
        active=active,
    ).to_json()
    return Call(REGISTER_PLATFORM, body=body, timeout=timeout)


def update_platform(
    id: str,
    /,
    *,
    url: str | None = None,
    client_id: str | None = None,
    name: str | None = None,
    authentication_endpoint: str | None = None,
    accesstoken_endpoint: str | None = None,
    auth_config: AuthConfig | Mapping[str, str] | None = None,
    authorization_server: str | None = None,
    active: bool | None = None,
    timeout: float | None = None,
) -> Call[Platform]:
    """Change the given fields of a platform (the others are kept)."""
    body = Platform(
        url=url,
        client_id=client_id,
        name=name,
        authentication_endpoint=authentication_endpoint,
        accesstoken_endpoint=accesstoken_endpoint,
        auth_config=_auth_config(auth_config) if auth_config is not None else None,
        authorization_server=authorization_server,
        active=active,
    ).to_json()
    return Call(UPDATE_PLATFORM, ids=(id,), body=body, timeout=timeout)


def delete_platform(id: str, /, *, timeout: float | None = None) -> Call[None]:
    return Call(DELETE_PLATFORM, ids=(id,), timeout=timeout)


def activate_platform(id: str, /, *, timeout: float | None = None) -> Call[None]:
    """Let the platform launch the tool."""
    return Call(ACTIVATE_PLATFORM, ids=(id,), timeout=timeout)


def deactivate_platform(id: str, /, *, timeout: float | None = None) -> Call[None]:
    """Stop the platform from launching the tool (its registration is kept)."""
    return Call(DEACTIVATE_PLATFORM, ids=(id,), timeout=timeout)


# --- shared argument rules


def _limit(limit: int | None) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError("limit must be a whole number >= 1.")
    return limit


def _present(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _auth_config(value: AuthConfig | Mapping[str, str]) -> AuthConfig:
    return value if isinstance(value, AuthConfig) else AuthConfig.from_json(value)


def _deep_linking(
    items: Iterable[ContentItem | Mapping[str, Any]],
    message: str | None,
    log: str | None,
    error_message: str | None,
    error_log: str | None,
) -> dict[str, Any]:
    if isinstance(items, ContentItem | Mapping):
        items = [items]  # one item given bare
    content = [item.to_json() if isinstance(item, ContentItem) else _present(**item) for item in items]
    options = _present(message=message, log=log, errMessage=error_message, errLog=error_log)
    return {"contentItems": content, **({"options": options} if options else {})}
