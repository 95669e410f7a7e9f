"""What one launch looks like on the wire: the ltik's claims, LTIAAS's idtoken and the LMS's raw token.

Everything here is a pure function of a :class:`LaunchSpec`, so the shapes can be read (and checked against
``reference/ltiaas-api.md``) in one place.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

PLATFORM_URL = "https://lms.example.edu"
CLIENT_ID = "fake-ltiaas-client"
DEPLOYMENT_ID = "1"
PLATFORM_NAME = "Example LMS"
TOOL_URL = "https://tool.example.com/launch"
#: Where deep-linking answers go: the fake's own page (the LMS's return URL), under the fake's URL.
DEEP_LINKING_RETURN_PATH = "/lti/deeplinking/return"

SERVICES = ("outcomes", "deepLinking", "assignmentAndGrades", "namesAndRoles")
DEFAULT_SERVICES = ("assignmentAndGrades", "namesAndRoles", "deepLinking")
LTI_VERSIONS = ("1.3.0", "1.2.0")
#: ``message_type`` of a launch -> the LTI message type LTIAAS reports in ``launch.type``.
MESSAGE_TYPES = {"resource_link": "LtiResourceLinkRequest", "deep_linking": "LtiDeepLinkingRequest"}
RAW_ID_TOKEN_LIFETIME = 3600

_ROLE_VOCABULARY = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_LTI = "https://purl.imsglobal.org/spec/lti/claim/"
_AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]
_COURSE_TYPE = ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]
_ACCEPT_TYPES = ["ltiResourceLink", "link", "file", "html", "image"]


@dataclass(frozen=True)
class LaunchSpec:
    """The inputs of :meth:`FakeLtiaas.launch`, validated."""

    user_id: str
    name: str | None
    email: str | None
    roles: tuple[str, ...]
    context_id: str
    context_title: str
    resource_link_id: str
    services: frozenset[str]
    issued_at: int
    lti_version: str
    platform_id: str
    message_type: str = "resource_link"
    deep_linking_return_url: str = f"{PLATFORM_URL}/mod/lti/contentitem_return.php"

    @property
    def legacy(self) -> bool:
        return self.lti_version == "1.2.0"

    @property
    def lti_message_type(self) -> str:
        return "basic-lti-launch-request" if self.legacy else MESSAGE_TYPES[self.message_type]


def build_spec(
    *,
    platform_id: str,
    user_id: str | None = None,
    name: str | None = "Ada Lovelace",
    email: str | None = "ada.lovelace@example.edu",
    roles: Sequence[str] = ("Learner",),
    context_id: str | None = None,
    context_title: str = "Course",
    resource_link_id: str | None = None,
    services: Sequence[str] = DEFAULT_SERVICES,
    issued_at: float | datetime | None = None,
    lti_version: str = "1.3.0",
    message_type: str = "resource_link",
) -> LaunchSpec:
    """``FakeLtiaas.launch()``'s keywords, checked, as a spec (one rule for the fake and make_idtoken)."""
    if lti_version not in LTI_VERSIONS:
        raise ValueError(f"lti_version must be one of {', '.join(LTI_VERSIONS)}")
    if message_type not in MESSAGE_TYPES:
        raise ValueError(f"message_type must be one of {', '.join(MESSAGE_TYPES)}")
    if message_type == "deep_linking" and lti_version != "1.3.0":
        raise ValueError("deep linking is an LTI 1.3 message: use lti_version='1.3.0'")
    unknown = set(names(services, "services")) - set(SERVICES)
    if unknown:
        raise ValueError(f"unknown services {sorted(unknown)}; known: {', '.join(SERVICES)}")
    return LaunchSpec(
        user_id=_or_random(user_id, "user"),
        name=name,
        email=email,
        roles=names(roles, "roles"),
        context_id=_or_random(context_id, "course"),
        context_title=context_title,
        resource_link_id=_or_random(resource_link_id, "link"),
        services=frozenset(services),
        issued_at=_timestamp(issued_at),
        lti_version=lti_version,
        platform_id=platform_id,
        message_type=message_type,
    )


def names(values: Sequence[str], what: str) -> tuple[str, ...]:
    """`values` as a tuple, refusing a bare str (which would otherwise be read letter by letter)."""
    if isinstance(values, str):
        raise TypeError(f"{what} must be a sequence of names, not a str")
    return tuple(values)


def _or_random(value: str | None, prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}" if value is None else value


def _timestamp(issued_at: float | datetime | None) -> int:
    if issued_at is None:
        return int(time.time())
    if isinstance(issued_at, datetime):
        if issued_at.tzinfo is None:
            raise ValueError("issued_at must be an aware datetime")
        return int(issued_at.timestamp())
    return int(issued_at)


def role_uri(role: str) -> str:
    """A context role as LTI 1.3 sends it: short names (``Learner``) expand to the membership vocabulary,
    and a sub-role (``Instructor#TeachingAssistant``) to ``…/membership/Instructor#TeachingAssistant``."""
    if ":" in role:
        return role
    principal, _, sub = role.partition("#")
    return f"{_ROLE_VOCABULARY[:-1]}/{principal}#{sub}" if sub else _ROLE_VOCABULARY + role


def short_role(role: str) -> str:
    return role.rpartition("#")[2]


def memberships_url(context_id: str) -> str:
    return f"{PLATFORM_URL}/api/lti/courses/{quote(context_id, safe='')}/names_and_roles"


def lineitems_url(context_id: str) -> str:
    return f"{PLATFORM_URL}/api/lti/courses/{quote(context_id, safe='')}/line_items"


def ltik_claims(spec: LaunchSpec, lifetime: int, state: str) -> dict[str, Any]:
    """ltijs's claims plus `exp`; `s` (the launch state) makes every ltik unique."""
    platform_code = "lti" + base64.b64encode(f"{PLATFORM_URL}{CLIENT_ID}".encode()).decode()
    context = quote(f"{PLATFORM_URL}{DEPLOYMENT_ID}{spec.context_id}_{spec.resource_link_id}", safe="")
    return {
        "platformUrl": PLATFORM_URL,
        "clientId": CLIENT_ID,
        "deploymentId": DEPLOYMENT_ID,
        "platformCode": platform_code,
        "contextId": context,
        "user": spec.user_id,
        "s": state,
        "iat": spec.issued_at,
        "exp": spec.issued_at + lifetime,
    }


def member(spec: LaunchSpec) -> dict[str, Any]:
    """The NRPS membership entry of the launching user."""
    return member_entry(spec.user_id, spec.name, spec.email, spec.roles)


def member_entry(user_id: str, name: str | None, email: str | None, roles: Sequence[str]) -> dict[str, Any]:
    """One NRPS membership entry (a launching user, or one seeded with ``FakeLtiaas.add_members``)."""
    entry: dict[str, Any] = {"status": "Active", "userId": user_id, **_person(name, email)}
    entry["roles"] = [role_uri(role) for role in roles]
    return entry


def idtoken(spec: LaunchSpec, service_key: str | None) -> dict[str, Any]:
    """The idtoken LTIAAS serves at ``GET /api/idtoken``."""
    user: dict[str, Any] = {"id": spec.user_id, "roles": [role_uri(role) for role in spec.roles]}
    user.update(_names(spec))
    launch: dict[str, Any] = {
        "type": spec.lti_message_type,
        "target": TOOL_URL,
        "context": {"id": spec.context_id, "title": spec.context_title, "type": _COURSE_TYPE},
    }
    if spec.message_type == "resource_link":
        launch["resourceLink"] = {"id": spec.resource_link_id, "title": "Activity"}
    launch.update(presentation={"documentTarget": "iframe", "locale": "en"}, custom={})
    return {
        "ltiVersion": spec.lti_version,
        "user": user,
        "platform": {
            "id": spec.platform_id,
            "url": PLATFORM_URL,
            "clientId": CLIENT_ID,
            "deploymentId": DEPLOYMENT_ID,
            "name": PLATFORM_NAME,
            "productFamilyCode": "moodle",
            "version": "4.3",
        },
        "launch": launch,
        "services": _services(spec, service_key),
    }


def raw_idtoken(spec: LaunchSpec) -> dict[str, Any]:
    """The LMS's own launch claims (``GET /api/idtoken?raw=true``)."""
    return _raw_lti12(spec) if spec.legacy else _raw_lti13(spec)


def _names(spec: LaunchSpec) -> dict[str, str]:
    return _person(spec.name, spec.email)


def _person(name: str | None, email: str | None) -> dict[str, str]:
    person: dict[str, str] = {}
    if name:
        given, family = _split_name(name)
        person.update(name=name, givenName=given, familyName=family)
    if email:
        person["email"] = email
    return person


def _split_name(name: str) -> tuple[str, str]:
    given, _, family = name.partition(" ")
    return given, family or given


def _services(spec: LaunchSpec, service_key: str | None) -> dict[str, Any]:
    services: dict[str, Any] = {name: {"available": name in spec.services} for name in SERVICES}
    if "deepLinking" in spec.services:
        services["deepLinking"].update(acceptTypes=_ACCEPT_TYPES, acceptMultiple=True)
        if spec.message_type == "deep_linking":
            services["deepLinking"]["deepLinkReturnUrl"] = spec.deep_linking_return_url
    if "assignmentAndGrades" in spec.services:
        services["assignmentAndGrades"]["scopes"] = _AGS_SCOPES
    if service_key is not None:
        services["serviceKey"] = service_key
    return services


def _raw_lti13(spec: LaunchSpec) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "iss": PLATFORM_URL,
        "sub": spec.user_id,
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "iat": spec.issued_at,
        "exp": spec.issued_at + RAW_ID_TOKEN_LIFETIME,
        "nonce": f"nonce-{spec.resource_link_id}-{spec.issued_at}",
        _LTI + "message_type": spec.lti_message_type,
        _LTI + "version": "1.3.0",
        _LTI + "deployment_id": DEPLOYMENT_ID,
        _LTI + "target_link_uri": TOOL_URL,
        _LTI + "roles": [role_uri(role) for role in spec.roles],
        _LTI + "context": {"id": spec.context_id, "title": spec.context_title, "type": _COURSE_TYPE},
        _LTI + "custom": {},
        "ltiVersion": "1.3.0",
    }
    if spec.message_type == "resource_link":
        raw[_LTI + "resource_link"] = {"id": spec.resource_link_id, "title": "Activity"}
    else:
        raw["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "deep_link_return_url": spec.deep_linking_return_url,
            "accept_types": _ACCEPT_TYPES,
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
        }
    if spec.name:
        given, family = _split_name(spec.name)
        raw.update(name=spec.name, given_name=given, family_name=family)
    if spec.email:
        raw["email"] = spec.email
    if "assignmentAndGrades" in spec.services:
        raw["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
            "scope": _AGS_SCOPES,
            "lineitems": lineitems_url(spec.context_id),
        }
    if "namesAndRoles" in spec.services:
        raw["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = {
            "context_memberships_url": memberships_url(spec.context_id),
            "service_versions": ["2.0"],
        }
    return raw


def _raw_lti12(spec: LaunchSpec) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "resource_link_id": spec.resource_link_id,
        "resource_link_title": "Activity",
        "user_id": spec.user_id,
        "roles": ",".join(short_role(role) for role in spec.roles),
        "context_id": spec.context_id,
        "context_title": spec.context_title,
        "oauth_consumer_key": CLIENT_ID,
        "oauth_version": "1.0",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(spec.issued_at),
        "oauth_nonce": f"nonce-{spec.resource_link_id}-{spec.issued_at}",
        "ltiVersion": "1.2.0",
    }
    if spec.name:
        given, family = _split_name(spec.name)
        raw.update(lis_person_name_full=spec.name, lis_person_name_given=given, lis_person_name_family=family)
    if spec.email:
        raw["lis_person_contact_email_primary"] = spec.email
    return raw


def deep_linking_claims(items: list[dict[str, Any]], options: dict[str, str], now: int) -> dict[str, Any]:
    """The LtiDeepLinkingResponse LTIAAS signs and the tool posts back to the LMS."""
    claims: dict[str, Any] = {
        "iss": CLIENT_ID,
        "aud": PLATFORM_URL,
        "iat": now,
        "exp": now + 60,
        _LTI + "message_type": "LtiDeepLinkingResponse",
        _LTI + "version": "1.3.0",
        _LTI + "deployment_id": DEPLOYMENT_ID,
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": items,
    }
    wire_names = {"message": "msg", "log": "log", "errMessage": "errormsg", "errLog": "errorlog"}
    for name, value in options.items():
        claims[f"https://purl.imsglobal.org/spec/lti-dl/claim/{wire_names[name]}"] = value
    return claims
