"""A launch's roles, read the way LTI defines them, and the one role-gate rule every integration uses.

LTI 1.3 sends role URIs of three vocabularies: *membership* (the user's role in this course,
``http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor`` and sub-roles such as
``…/membership/Instructor#TeachingAssistant``), *institution* (``…/institution/person#Faculty``) and
*system* (``…/system/person#Administrator``). LTI 1.1 and older platforms send short names
(``Instructor``) and URNs (``urn:lti:role:ims/lis/Instructor``, ``urn:lti:instrole:ims/lis/Faculty``).

The ``is_*`` properties and :meth:`Roles.has` answer *for the course* only: they read membership roles
(a sub-role counts for its principal role), never institution or system roles, so a faculty member
enrolled as a learner is a learner here. Those other roles are in :attr:`Roles.institution` and
:attr:`Roles.system`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import RoleRequired

__all__ = ["Role", "Roles"]

Vocabulary = Literal["membership", "institution", "system", "unknown"]

_LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
_MEMBERSHIP = _LIS + "membership"
_PREFIXES: tuple[tuple[str, Vocabulary], ...] = (
    (_LIS + "institution/person#", "institution"),
    (_LIS + "system/person#", "system"),
    ("http://purl.imsglobal.org/vocab/lti/system/person#", "system"),  # TestUser
    ("urn:lti:instrole:ims/lis/", "institution"),
    ("urn:lti:sysrole:ims/lis/", "system"),
)
#: LTI 1.1's TeachingAssistant was a role of its own; LTI 1.3 made it a sub-role of Instructor.
_ALIASES = {"teachingassistant": ("Instructor", "TeachingAssistant")}
_TA = "teachingassistant"
_ROLES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"


@dataclass(frozen=True, slots=True)
class Role:
    """One role as LTI defines it: its vocabulary, principal name and (membership only) sub-role."""

    vocabulary: Vocabulary
    name: str
    sub_role: str | None = None

    @classmethod
    def parse(cls, value: str) -> Role:
        """Any role string an LTI 1.1 or 1.3 platform sends; anything unrecognised is ``unknown``."""
        value = value.strip()
        if value.startswith(_MEMBERSHIP):
            rest = value[len(_MEMBERSHIP) :]
            if rest.startswith("#") and len(rest) > 1:
                return _membership(rest[1:], None)
            principal, hash_, sub = rest[1:].partition("#")
            if rest.startswith("/") and principal and hash_ and sub:
                return _membership(principal, sub)
            return cls("unknown", value)
        for prefix, vocabulary in _PREFIXES:
            if value.startswith(prefix) and len(value) > len(prefix):
                return cls(vocabulary, value[len(prefix) :].split("/")[-1])
        if value.startswith("urn:lti:role:ims/lis/"):
            principal, _, sub = value[len("urn:lti:role:ims/lis/") :].partition("/")
            return _membership(principal, sub or None) if principal else cls("unknown", value)
        if value and value.replace("/", "").replace("#", "").isalnum() and ":" not in value:
            principal, _, sub = value.replace("#", "/").partition("/")
            return _membership(principal, sub or None)  # an LTI 1.1 / simple context role name
        return cls("unknown", value)

    def matches(self, wanted: Role) -> bool:
        """Whether this role satisfies ``wanted``: same vocabulary and name, any sub-role when none is
        wanted (the TeachingAssistant sub-role also takes its variants: …Section, …Group, …Offering)."""
        if self.vocabulary != wanted.vocabulary or self.name.casefold() != wanted.name.casefold():
            return False
        if wanted.sub_role is None:
            return True
        mine, theirs = _fold(self.sub_role) or "", wanted.sub_role.casefold()
        return mine == theirs or (theirs == _TA and mine.startswith(_TA))


def _membership(principal: str, sub: str | None) -> Role:
    if sub is None and principal.casefold() in _ALIASES:
        principal, sub = _ALIASES[principal.casefold()]
    return Role("membership", principal, sub)


def _fold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


@dataclass(frozen=True, slots=True)
class Roles:
    """The roles of one launch's user. Immutable; iterating gives the strings as the platform sent them."""

    values: tuple[str, ...] = ()
    _parsed: tuple[Role, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        object.__setattr__(self, "_parsed", tuple(Role.parse(value) for value in self.values))

    @classmethod
    def parse(cls, roles: Iterable[str] | str | None) -> Roles:
        """A list of role strings, or LTI 1.1's one comma-separated string; None or junk entries ignored."""
        if roles is None:
            return cls()
        if isinstance(roles, str):
            roles = roles.split(",")
        return cls(tuple(r.strip() for r in roles if isinstance(r, str) and r.strip()))

    @classmethod
    def from_idtoken(cls, idtoken: Mapping[str, Any]) -> Roles:
        """The roles of an idtoken dict: LTIAAS's (``user.roles``) or the LMS's raw one (the roles claim)."""
        user = idtoken.get("user")
        if isinstance(user, Mapping) and "roles" in user:
            return cls.parse(user["roles"])
        claim = idtoken.get(_ROLES_CLAIM, idtoken.get("roles"))
        return cls.parse(claim if isinstance(claim, (str, list, tuple)) else None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.has(name)

    @property
    def context(self) -> tuple[Role, ...]:
        """The membership roles: the user's roles in this course."""
        return tuple(r for r in self._parsed if r.vocabulary == "membership")

    @property
    def institution(self) -> tuple[str, ...]:
        """Institution role names (``Faculty``, ``Student``, ``Administrator``…); never course roles."""
        return tuple(r.name for r in self._parsed if r.vocabulary == "institution")

    @property
    def system(self) -> tuple[str, ...]:
        """System role names (``Administrator``, ``SysAdmin``, ``TestUser``…); never course roles."""
        return tuple(r.name for r in self._parsed if r.vocabulary == "system")

    def has(self, name: str) -> bool:
        """Whether the user holds ``name`` in this course.

        ``name`` is a context role (``"Instructor"``, ``"Learner"``; sub-roles count for their principal),
        a sub-role (``"Instructor#TeachingAssistant"``, or LTI 1.1's ``"TeachingAssistant"``), or a full
        role URI or URN (matched in its own vocabulary, so an institution URI asks about the institution).
        """
        wanted = Role.parse(name)
        if wanted.vocabulary == "unknown":
            return name.strip() in self.values
        return any(role.matches(wanted) for role in self._parsed)

    def has_any(self, *names: str) -> bool:
        """Whether the user holds at least one of ``names`` (the any-of rule of every role gate)."""
        return any(self.has(name) for name in names)

    def require_any(self, *names: str) -> None:
        """Raise ``RoleRequired`` unless the user holds at least one of ``names`` in this course."""
        if not names:
            raise ValueError("require_any() needs at least one role name.")
        if not self.has_any(*names):
            raise RoleRequired(f"This page needs one of these roles in the course: {', '.join(names)}.")

    @property
    def is_instructor(self) -> bool:
        return self.has("Instructor")

    @property
    def is_learner(self) -> bool:
        return self.has("Learner")

    @property
    def is_administrator(self) -> bool:
        return self.has("Administrator")

    @property
    def is_teaching_assistant(self) -> bool:
        """An Instructor sub-role of the TeachingAssistant family (LTI 1.1's ``TeachingAssistant`` too)."""
        return self.has("TeachingAssistant")

    @property
    def is_content_developer(self) -> bool:
        return self.has("ContentDeveloper")

    @property
    def is_mentor(self) -> bool:
        return self.has("Mentor")
