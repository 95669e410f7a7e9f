"""The typed, immutable models of what LTIAAS sends and takes.

Every model is a frozen dataclass with ``from_json()`` / ``to_json()`` (camelCase on the wire, unset
fields left out, unknown fields kept in ``.extra``); see ``_wire.py`` for the one codec they share.
``None`` always means "unset", so a score of 0 is a score.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self

from ..roles import Roles
from ._wire import WireModel

__all__ = [
    "ActivityProgress",
    "AuthConfig",
    "ContentItem",
    "DeepLinkingComponents",
    "File",
    "GradingProgress",
    "Html",
    "IdToken",
    "Image",
    "ImageRef",
    "LaunchContext",
    "LaunchInfo",
    "LaunchPlatform",
    "LineItem",
    "Link",
    "LtiResourceLink",
    "Member",
    "Platform",
    "Registration",
    "RegistrationCompletion",
    "ResourceLink",
    "Result",
    "Score",
    "Service",
    "Services",
    "SupportedMessage",
    "User",
]


class ActivityProgress(enum.StrEnum):
    """LTI AGS ``activityProgress``; the LTI strings (``"Completed"``) are accepted wherever this is."""

    INITIALIZED = "Initialized"
    STARTED = "Started"
    IN_PROGRESS = "InProgress"
    SUBMITTED = "Submitted"
    COMPLETED = "Completed"


class GradingProgress(enum.StrEnum):
    """LTI AGS ``gradingProgress``; the LTI strings (``"FullyGraded"``) are accepted wherever this is."""

    FULLY_GRADED = "FullyGraded"
    PENDING = "Pending"
    PENDING_MANUAL = "PendingManual"
    FAILED = "Failed"
    NOT_READY = "NotReady"


# --- the idtoken


@dataclass(frozen=True)
class User(WireModel):
    id: str
    roles: Roles = field(default_factory=Roles)
    name: str | None = None
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    role_scope_mentor: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LaunchPlatform(WireModel):
    """The LMS the launch came from."""

    id: str | None = None
    url: str | None = None
    client_id: str | None = None
    deployment_id: str | None = None
    name: str | None = None
    description: str | None = None
    guid: str | None = None
    contact_email: str | None = None
    version: str | None = None
    product_family_code: str | None = None


@dataclass(frozen=True)
class LaunchContext(WireModel):
    """The course."""

    id: str
    label: str | None = None
    title: str | None = None
    type: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ResourceLink(WireModel):
    """The activity (the placement of the tool in the course)."""

    id: str
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class LaunchInfo(WireModel):
    type: str | None = None
    target: str | None = None
    context: LaunchContext | None = None
    resource_link: ResourceLink | None = None
    presentation: Mapping[str, Any] | None = None
    custom: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Service(WireModel):
    """One LTI service of the launch. Service-specific fields (``lineItemId`` of AGS, ``acceptTypes`` of
    deep linking…) are in their own attributes where common, the rest in ``extra``."""

    available: bool = False
    line_item_id: str | None = None
    accept_types: tuple[str, ...] | None = None
    accept_multiple: bool | None = None
    scopes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Services(WireModel):
    outcomes: Service | None = None
    deep_linking: Service | None = None
    assignment_and_grades: Service | None = None
    names_and_roles: Service | None = None
    #: The launch's service key (present with AGS or NRPS); a credential, so never in ``repr``.
    service_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IdToken(WireModel):
    """LTIAAS's idtoken of a launch. ``raw`` is the dict it was read from (treat it as read-only)."""

    user: User
    lti_version: str | None = None
    platform: LaunchPlatform | None = None
    launch: LaunchInfo | None = None
    services: Services | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, metadata={"local": True})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        parsed = super().from_json(data)
        object.__setattr__(parsed, "raw", data)
        return parsed

    @property
    def roles(self) -> Roles:
        return self.user.roles

    @property
    def service_key(self) -> str | None:
        return self.services.service_key if self.services is not None else None


# --- names and roles


@dataclass(frozen=True)
class Member(WireModel):
    """One entry of a course roster (NRPS)."""

    user_id: str
    roles: Roles = field(default_factory=Roles)
    status: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    middle_name: str | None = None
    email: str | None = None
    picture: str | None = None
    lis_person_sourcedid: str | None = None


# --- assignments and grades


@dataclass(frozen=True)
class LineItem(WireModel):
    """A gradebook column. ``id`` is LTIAAS's (a URL); it is None on a line item not created yet."""

    label: str
    score_maximum: float
    id: str | None = None
    resource_link_id: str | None = None
    resource_id: str | None = None
    tag: str | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    grades_released: bool | None = None


@dataclass(frozen=True)
class Score(WireModel):
    """A score as submitted (``POST …/scores``); a ``score_given`` of 0 is a score."""

    user_id: str
    activity_progress: str
    grading_progress: str
    score_given: float | None = None
    score_maximum: float | None = None
    comment: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class Result(WireModel):
    """A result as the LMS holds it (``GET …/scores``)."""

    user_id: str
    id: str | None = None
    score_of: str | None = None
    result_score: float | None = None
    result_maximum: float | None = None
    comment: str | None = None
    timestamp: datetime | None = None


# --- deep linking


@dataclass(frozen=True)
class ImageRef(WireModel):
    """An icon or thumbnail of a content item."""

    url: str
    width: int | None = None
    height: int | None = None


_CONTENT_ITEM_TYPES: dict[str, builtins.type[ContentItem]] = {}


@dataclass(frozen=True)
class ContentItem(WireModel):
    """A deep-linking content item; ``ContentItem.from_json`` picks the class by the wire ``type``."""

    type: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type:
            _CONTENT_ITEM_TYPES[cls.type] = cls

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ContentItem:
        kind = data.get("type")
        item_class = _CONTENT_ITEM_TYPES.get(kind) if isinstance(kind, str) else None
        if item_class is None:
            raise ValueError(f"unknown content item type {kind!r}")
        fields = {key: value for key, value in data.items() if key != "type"}
        return item_class.from_json(fields)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **super().to_json()}


@dataclass(frozen=True)
class LtiResourceLink(ContentItem):
    """A link the LMS launches back into this tool (``ltiResourceLink``)."""

    type: ClassVar[str] = "ltiResourceLink"
    title: str | None = None
    text: str | None = None
    url: str | None = None
    icon: ImageRef | None = None
    thumbnail: ImageRef | None = None
    custom: Mapping[str, Any] | None = None
    #: A gradebook column the LMS creates with the link: ``{label, scoreMaximum, resourceId, tag, …}``.
    line_item: Mapping[str, Any] | None = None
    available: Mapping[str, Any] | None = None
    submission: Mapping[str, Any] | None = None
    iframe: Mapping[str, Any] | None = None
    window: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Link(ContentItem):
    type: ClassVar[str] = "link"
    url: str | None = None
    title: str | None = None
    text: str | None = None
    icon: ImageRef | None = None
    thumbnail: ImageRef | None = None
    embed: Mapping[str, Any] | None = None
    window: Mapping[str, Any] | None = None
    iframe: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class File(ContentItem):
    type: ClassVar[str] = "file"
    url: str | None = None
    title: str | None = None
    text: str | None = None
    icon: ImageRef | None = None
    thumbnail: ImageRef | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Image(ContentItem):
    type: ClassVar[str] = "image"
    url: str | None = None
    title: str | None = None
    text: str | None = None
    icon: ImageRef | None = None
    thumbnail: ImageRef | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Html(ContentItem):
    type: ClassVar[str] = "html"
    html: str | None = None
    title: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class DeepLinkingComponents(WireModel):
    """The signed deep-linking response: post ``message`` as the ``JWT`` form field to ``target``."""

    message: str
    target: str


# --- registrations and platforms


@dataclass(frozen=True)
class SupportedMessage(WireModel):
    type: str
    placements: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Registration(WireModel):
    """A dynamic registration request from an LMS, waiting to be completed."""

    url: str | None = None
    family_code: str | None = None
    version: str | None = None
    supported_scopes: tuple[str, ...] | None = None
    supported_messages: tuple[SupportedMessage, ...] | None = None


@dataclass(frozen=True)
class RegistrationCompletion(WireModel):
    """What completing a registration answers: the page that closes the LMS's window, and the platform id."""

    html: str | None = None
    platform_id: str | None = None


@dataclass(frozen=True)
class AuthConfig(WireModel):
    """How LTIAAS checks the platform's signatures: ``method`` ∈ ``JWK_SET``, ``JWK_KEY``, ``RSA_KEY``."""

    method: str
    key: str


@dataclass(frozen=True)
class Platform(WireModel):
    """An LMS registered with LTIAAS. ``id`` and ``public_key`` are LTIAAS's, None before registering."""

    id: str | None = None
    url: str | None = None
    client_id: str | None = None
    name: str | None = None
    authentication_endpoint: str | None = None
    accesstoken_endpoint: str | None = None
    auth_config: AuthConfig | None = None
    authorization_server: str | None = None
    active: bool | None = None
    public_key: str | None = None
