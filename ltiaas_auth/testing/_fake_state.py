"""The fake's memory: launches, per-context data, platforms and registrations.

One :class:`FakeState` belongs to one :class:`FakeLtiaas`; every read or write happens under ``state.lock``
(held by the caller), so request threads and the test thread never see a half-made launch.
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from ltiaas_auth.testing._fake_launch import (
    CLIENT_ID,
    DEEP_LINKING_RETURN_PATH,
    PLATFORM_NAME,
    PLATFORM_URL,
    LaunchSpec,
    idtoken,
    ltik_claims,
    member,
    member_entry,
    names,
    raw_idtoken,
)

_SERVICE_KEY_SERVICES = frozenset({"assignmentAndGrades", "namesAndRoles"})


@dataclass(frozen=True)
class Launch:
    """One recorded launch and what LTIAAS serves for it."""

    ltik: str
    spec: LaunchSpec
    service_key: str | None
    idtoken: dict[str, Any]
    raw_idtoken: dict[str, Any]


@dataclass(frozen=True)
class DeepLinkReturn:
    """What a tool sent back to the LMS from a deep-linking launch (the form LTIAAS built, submitted)."""

    content_items: list[dict[str, Any]]
    message: str | None = None
    log: str | None = None
    error_message: str | None = None
    error_log: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, repr=False)  # the whole LtiDeepLinkingResponse


@dataclass
class Context:
    """One LMS course: its roster (everyone who launched in it) and its gradebook."""

    id: str
    title: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    member_links: dict[str, set[str]] = field(default_factory=dict)
    line_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    line_items_created: int = 0


class FakeState:
    """In-memory LTIAAS data; callers hold :attr:`lock`."""

    def __init__(self, ltik_lifetime: int) -> None:
        self.lock = threading.Lock()
        self.ltik_lifetime = ltik_lifetime
        self.secret = secrets.token_bytes(32)
        self.platform_id = secrets.token_hex(10)
        self.launches: dict[str, Launch] = {}
        self.service_keys: dict[str, Launch] = {}
        self.contexts: dict[str, Context] = {}
        self.platforms: dict[str, dict[str, Any]] = {
            self.platform_id: new_platform(self.platform_id, default_platform_fields())
        }
        self.registrations: dict[str, dict[str, Any]] = {}
        self.deep_link_returns: list[DeepLinkReturn] = []
        self.base_url: str | None = None  # the fake's own URL, while it serves

    @property
    def deep_linking_return_url(self) -> str:
        """Where deep-linking forms post: the fake itself while it serves (so it can record the return)."""
        if self.base_url is None:
            return f"{PLATFORM_URL}/mod/lti/contentitem_return.php"
        return self.base_url + DEEP_LINKING_RETURN_PATH

    def add_launch(self, spec: LaunchSpec) -> Launch:
        """Mint a unique ltik for `spec`, a service key when it has AGS or NRPS, and enrol the user."""
        spec = dataclasses.replace(spec, deep_linking_return_url=self.deep_linking_return_url)
        claims = ltik_claims(spec, self.ltik_lifetime, secrets.token_urlsafe(16))
        token = jwt.encode(claims, self.secret, algorithm="HS256")
        service_key = new_service_key(spec)
        launch = Launch(token, spec, service_key, idtoken(spec, service_key), raw_idtoken(spec))
        self.launches[token] = launch
        if service_key is not None:
            self.service_keys[service_key] = launch
        context = self.contexts.setdefault(spec.context_id, Context(spec.context_id, spec.context_title))
        context.members[spec.user_id] = member(spec)
        context.member_links.setdefault(spec.user_id, set()).add(spec.resource_link_id)
        return launch

    def add_members(
        self, context_id: str, members: Iterable[str | Mapping[str, Any]], context_title: str
    ) -> None:
        """Put `members` on the context's roster (see ``FakeLtiaas.add_members``), in the order given."""
        context = self.contexts.setdefault(context_id, Context(context_id, context_title))
        entries = []
        for each in members:
            fields: Mapping[str, Any] = {"user_id": each} if isinstance(each, str) else each
            unknown = set(fields) - {"user_id", "name", "email", "roles"}
            if unknown:
                known = "user_id, name, email, roles"
                raise ValueError(f"unknown member fields {sorted(unknown)}; known: {known}")
            user_id = fields.get("user_id")
            if not isinstance(user_id, str) or not user_id:
                raise ValueError("each member needs a non-empty str user_id")
            roles = names(fields.get("roles", ("Learner",)), "roles")
            entries.append(member_entry(user_id, fields.get("name"), fields.get("email"), roles))
        for entry in entries:  # all checked first: a bad member adds none
            context.members[entry["userId"]] = entry
            context.member_links.setdefault(entry["userId"], set())

    def verified_launch(self, token: str) -> Launch | None:
        """The launch of an ltik this fake signed and that has not expired, else None."""
        try:
            jwt.decode(token, self.secret, algorithms=["HS256"], options={"require": ["iat", "exp"]})
        except jwt.PyJWTError:
            return None
        return self.launches.get(token)

    def context_of(self, launch: Launch) -> Context:
        return self.contexts[launch.spec.context_id]

    def new_registration(self) -> str:
        """Record a dynamic registration request from the example LMS; returns its id."""
        registration_id = secrets.token_hex(10)
        self.registrations[registration_id] = {
            "url": PLATFORM_URL,
            "familyCode": "moodle",
            "version": "4.3",
            "supportedScopes": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
            ],
            "supportedMessages": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest", "placements": ["ContentArea"]},
            ],
            "registrationToken": secrets.token_urlsafe(24),
        }
        return registration_id


def new_service_key(spec: LaunchSpec) -> str | None:
    """A fresh service key when the launch has AGS or NRPS (LTIAAS issues one only then), else None."""
    return secrets.token_urlsafe(32) if spec.services & _SERVICE_KEY_SERVICES else None


def default_platform_fields() -> dict[str, Any]:
    """The example LMS every launch comes from, as a platform registration."""
    return {
        "url": PLATFORM_URL,
        "clientId": CLIENT_ID,
        "name": PLATFORM_NAME,
        "authenticationEndpoint": f"{PLATFORM_URL}/mod/lti/auth.php",
        "accesstokenEndpoint": f"{PLATFORM_URL}/mod/lti/token.php",
        "authConfig": {"method": "JWK_SET", "key": f"{PLATFORM_URL}/mod/lti/certs.php"},
        "active": True,
    }


def new_platform(platform_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A platform record; `publicKey` is random bytes in PEM armour (clients only carry it as a string)."""
    key = base64.b64encode(secrets.token_bytes(294)).decode()
    public_key = f"-----BEGIN PUBLIC KEY-----\n{key}\n-----END PUBLIC KEY-----\n"
    return {"id": platform_id, **fields, "publicKey": public_key}
