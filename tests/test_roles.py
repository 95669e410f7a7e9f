"""Roles: LTI 1.3 membership, institution and system URIs, sub-roles, LTI 1.1 names, and the role gate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltiaas_auth.errors import RoleRequired
from ltiaas_auth.roles import Role, Roles

M = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INST = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYS = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"

FLAGS = (
    "is_instructor",
    "is_learner",
    "is_administrator",
    "is_teaching_assistant",
    "is_content_developer",
    "is_mentor",
)


@pytest.mark.parametrize(
    ("roles", "true_flags"),
    [
        pytest.param([f"{M}#Instructor"], {"is_instructor"}, id="1.3-instructor"),
        pytest.param([f"{M}#Learner"], {"is_learner"}, id="1.3-learner"),
        pytest.param([f"{M}#Administrator"], {"is_administrator"}, id="1.3-administrator"),
        pytest.param([f"{M}#ContentDeveloper"], {"is_content_developer"}, id="1.3-content-developer"),
        pytest.param([f"{M}#Mentor"], {"is_mentor"}, id="1.3-mentor"),
        pytest.param(
            [f"{M}/Instructor#TeachingAssistant"],
            {"is_instructor", "is_teaching_assistant"},
            id="1.3-ta-sub-role-counts-for-instructor",
        ),
        pytest.param(
            [f"{M}#Instructor", f"{M}/Instructor#TeachingAssistantSection"],
            {"is_instructor", "is_teaching_assistant"},
            id="1.3-ta-section-sub-role",
        ),
        pytest.param(
            [f"{M}/Learner#Instructor"], {"is_learner"}, id="learner-sub-role-named-instructor-is-a-learner"
        ),
        pytest.param([f"{M}/Administrator#Developer"], {"is_administrator"}, id="administrator-sub-role"),
        pytest.param(
            [f"{INST}Faculty", f"{INST}Instructor", f"{M}#Learner"],
            {"is_learner"},
            id="faculty-enrolled-as-learner-is-a-learner",
        ),
        pytest.param([f"{INST}Administrator"], set(), id="institution-admin-is-not-course-admin"),
        pytest.param([f"{SYS}Administrator"], set(), id="system-admin-is-not-course-admin"),
        pytest.param(["Instructor"], {"is_instructor"}, id="1.1-short-instructor"),
        pytest.param(["Learner"], {"is_learner"}, id="1.1-short-learner"),
        pytest.param(["TeachingAssistant"], {"is_instructor", "is_teaching_assistant"}, id="1.1-short-ta"),
        pytest.param(["urn:lti:role:ims/lis/Instructor"], {"is_instructor"}, id="1.1-urn-instructor"),
        pytest.param(
            ["urn:lti:role:ims/lis/Instructor/TeachingAssistant"],
            {"is_instructor", "is_teaching_assistant"},
            id="1.1-urn-ta",
        ),
        pytest.param(["urn:lti:role:ims/lis/Mentor"], {"is_mentor"}, id="1.1-urn-mentor"),
        pytest.param(["urn:lti:instrole:ims/lis/Administrator"], set(), id="1.1-urn-institution"),
        pytest.param(["urn:lti:sysrole:ims/lis/SysAdmin"], set(), id="1.1-urn-system"),
        pytest.param(["http://example.com/roles#Instructor"], set(), id="foreign-uri-is-nothing"),
        pytest.param([], set(), id="none"),
    ],
)
def test_course_role_flags(roles, true_flags):
    parsed = Roles.parse(roles)
    assert {flag for flag in FLAGS if getattr(parsed, flag)} == true_flags


@pytest.mark.parametrize(
    ("value", "role"),
    [
        pytest.param(f"{M}#Instructor", Role("membership", "Instructor"), id="membership"),
        pytest.param(
            f"{M}/Instructor#TeachingAssistant",
            Role("membership", "Instructor", "TeachingAssistant"),
            id="membership-sub-role",
        ),
        pytest.param(f"{INST}Faculty", Role("institution", "Faculty"), id="institution"),
        pytest.param(f"{SYS}SysAdmin", Role("system", "SysAdmin"), id="system"),
        pytest.param(
            "http://purl.imsglobal.org/vocab/lti/system/person#TestUser",
            Role("system", "TestUser"),
            id="lti-test-user",
        ),
        pytest.param("urn:lti:instrole:ims/lis/Student", Role("institution", "Student"), id="1.1-instrole"),
        pytest.param("urn:lti:sysrole:ims/lis/SysAdmin", Role("system", "SysAdmin"), id="1.1-sysrole"),
        pytest.param("Mentor", Role("membership", "Mentor"), id="1.1-short"),
        pytest.param(f"{M}#", Role("unknown", f"{M}#"), id="empty-fragment"),
        pytest.param(f"{M}/Instructor", Role("unknown", f"{M}/Instructor"), id="sub-role-without-name"),
        pytest.param("urn:x:y", Role("unknown", "urn:x:y"), id="foreign-urn"),
    ],
)
def test_role_parse(value, role):
    assert Role.parse(value) == role


def test_institution_and_system_hold_the_others():
    roles = Roles.parse([f"{INST}Faculty", f"{SYS}User", f"{M}#Learner", "urn:lti:instrole:ims/lis/Staff"])
    assert roles.institution == ("Faculty", "Staff")
    assert roles.system == ("User",)
    assert roles.context == (Role("membership", "Learner"),)


@pytest.mark.parametrize(
    ("roles", "name", "expected"),
    [
        pytest.param([f"{M}#Instructor"], "Instructor", True, id="short-name"),
        pytest.param([f"{M}#Instructor"], "instructor", True, id="case-insensitive-name"),
        pytest.param([f"{M}/Instructor#Grader"], "Instructor", True, id="sub-role-counts"),
        pytest.param([f"{M}/Instructor#Grader"], "Instructor#Grader", True, id="sub-role-asked"),
        pytest.param([f"{M}#Instructor"], "Instructor#Grader", False, id="principal-is-not-the-sub-role"),
        pytest.param([f"{M}#Instructor"], f"{M}#Instructor", True, id="full-uri"),
        pytest.param([f"{M}/Learner#Instructor"], "Instructor", False, id="learner-instructor-sub-role"),
        pytest.param([f"{INST}Instructor"], "Instructor", False, id="institution-is-not-the-course"),
        pytest.param([f"{INST}Instructor"], f"{INST}Instructor", True, id="institution-uri-asks-institution"),
        pytest.param([f"{M}#Learner"], "TeachingAssistant", False, id="ta-not-held"),
        pytest.param([f"{M}/Instructor#TeachingAssistant"], "TeachingAssistant", True, id="ta-alias"),
        pytest.param([f"{M}/Instructor#TeachingAssistantSection"], "TeachingAssistant", True, id="ta-family"),
        pytest.param(
            [f"{M}/Instructor#TeachingAssistant"],
            "Instructor#TeachingAssistantSection",
            False,
            id="ta-variant-asked-exactly",
        ),
        pytest.param(["urn:x:custom"], "urn:x:custom", True, id="unknown-exact"),
    ],
)
def test_has(roles, name, expected):
    parsed = Roles.parse(roles)
    assert parsed.has(name) is expected
    assert (name in parsed) is expected


@pytest.mark.parametrize(
    ("idtoken", "expected"),
    [
        pytest.param({"user": {"id": "u", "roles": [f"{M}#Instructor"]}}, (f"{M}#Instructor",), id="ltiaas"),
        pytest.param(
            {"https://purl.imsglobal.org/spec/lti/claim/roles": [f"{M}#Learner"]},
            (f"{M}#Learner",),
            id="raw-1.3",
        ),
        pytest.param(
            {"roles": "Instructor,urn:lti:role:ims/lis/Mentor"},
            ("Instructor", "urn:lti:role:ims/lis/Mentor"),
            id="raw-1.2-string",
        ),
        pytest.param({"user": {"id": "u"}}, (), id="no-roles"),
        pytest.param(
            {"user": {"id": "u", "roles": [1, None, " ", "Learner"]}}, ("Learner",), id="junk-ignored"
        ),
    ],
)
def test_from_idtoken(idtoken, expected):
    assert Roles.from_idtoken(idtoken).values == expected


def test_require_any():
    roles = Roles.parse([f"{M}#Learner"])
    roles.require_any("Instructor", "Learner")
    with pytest.raises(RoleRequired) as caught:
        roles.require_any("Instructor", "Administrator")
    assert caught.value.status == 403
    assert "Instructor" in caught.value.description
    with pytest.raises(ValueError, match="at least one"):
        roles.require_any()


def test_immutable_and_equal_by_value():
    roles = Roles.parse(["Instructor"])
    assert roles == Roles(("Instructor",))
    assert hash(roles) == hash(Roles(("Instructor",)))
    with pytest.raises(AttributeError):
        roles.values = ()  # type: ignore[misc]
    assert list(roles) == ["Instructor"]
    assert len(roles) == 1


@given(st.lists(st.text(max_size=80), max_size=8), st.text(max_size=40))
def test_parsing_never_raises(values, name):
    roles = Roles.parse(values)
    roles.has(name)
    _ = (roles.institution, roles.system, roles.context, roles.is_teaching_assistant)
