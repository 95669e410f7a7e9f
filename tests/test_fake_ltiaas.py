"""FakeLtiaas over real loopback HTTP: LTIAAS's authorization rules, response shapes, listings and faults."""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
import pytest
from security_helpers import tampered

from ltiaas_auth.testing import FakeCall, FakeLtiaas

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
SERVICES = ("outcomes", "deepLinking", "assignmentAndGrades", "namesAndRoles")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or None for an empty body
    content_type: str | None


def call(fake: FakeLtiaas, method: str, path: str, *, auth: str | None = None, body: Any = None) -> Answer:
    """One request with the path sent byte for byte (http.client does not normalise it)."""
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(fake.url).port, timeout=5)
    headers = {} if auth is None else {"Authorization": auth}
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return Answer(response.status, json.loads(raw) if raw else None, response.getheader("Content-Type"))


def launch_auth(fake: FakeLtiaas, ltik: str) -> str:
    return f"LTIK-AUTH-V2 {fake.api_key}:{ltik}"


def service_auth(fake: FakeLtiaas, ltik: str) -> str:
    key = fake.service_key_for(ltik)
    assert key is not None
    return f"SERVICE-AUTH-V1 {fake.api_key}:{key}"


def bearer(fake: FakeLtiaas) -> str:
    return f"Bearer {fake.api_key}"


def unauthorized(description: str) -> dict[str, Any]:
    details = {"message": "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER", "description": description}
    return {"status": 401, "error": "Unauthorized", "details": details}


def encoded(item_id: str) -> str:
    """A line item id as LTIAAS wants it in a path: percent-encoded once, `/` included."""
    return quote(item_id, safe="")


def new_line_item(fake: FakeLtiaas, ltik: str, **fields: Any) -> dict[str, Any]:
    answer = call(
        fake,
        "POST",
        "/api/lineitems",
        auth=launch_auth(fake, ltik),
        body={"label": "Quiz", "scoreMaximum": 10, **fields},
    )
    assert answer.status == 201, answer.body
    return answer.body  # type: ignore[no-any-return]


# --- authorization

Refusal = Callable[[FakeLtiaas, str], str | None]


@pytest.mark.parametrize(
    ("path", "header", "description"),
    [
        pytest.param(
            "/api/idtoken",
            lambda f, ltik: f"LTIK-AUTH-V2 wrong-key:{ltik}",
            "Invalid API key",
            id="wrong-key",
        ),
        pytest.param(
            "/api/platforms", lambda f, ltik: "Bearer wrong-key", "Invalid API key", id="wrong-key-bearer"
        ),
        pytest.param(
            "/api/idtoken",
            lambda f, ltik: launch_auth(f, tampered(ltik)),
            "Invalid or expired ltik.",
            id="tampered",
        ),
        pytest.param(
            "/api/idtoken",
            lambda f, ltik: launch_auth(f, f.launch(issued_at=time.time() - 2 * 86400)),
            "Invalid or expired ltik.",
            id="expired",
        ),
        pytest.param(
            "/api/idtoken",
            lambda f, ltik: launch_auth(f, FakeLtiaas().launch()),
            "Invalid or expired ltik.",
            id="ltik-of-another-fake",
        ),
        pytest.param(
            "/api/idtoken",
            lambda f, ltik: service_auth(f, ltik),
            "Invalid or expired ltik.",
            id="service-on-idtoken",
        ),
        pytest.param(
            "/api/memberships",
            lambda f, ltik: bearer(f),
            "Invalid or expired ltik.",
            id="bearer-on-memberships",
        ),
        pytest.param(
            "/api/idtoken", lambda f, ltik: bearer(f), "Invalid or expired ltik.", id="bearer-on-idtoken"
        ),
        pytest.param(
            "/api/platforms",
            lambda f, ltik: launch_auth(f, ltik),
            "Invalid API key",  # an API-key-only route says what it lacks
            id="launch-on-platforms",
        ),
        pytest.param(
            "/admin/platforms", lambda f, ltik: None, "Invalid API key", id="no-header-on-platforms"
        ),
        pytest.param(
            "/api/memberships",
            lambda f, ltik: f"SERVICE-AUTH-V1 {f.api_key}:unknown-key",
            "Invalid or expired ltik.",
            id="unknown-service-key",
        ),
        pytest.param("/api/idtoken", lambda f, ltik: None, "Invalid or expired ltik.", id="missing-header"),
        pytest.param(
            "/api/idtoken",
            lambda f, ltik: f"ltik-auth-v2 {f.api_key}:{ltik}",
            "Invalid or expired ltik.",
            id="scheme-case",
        ),
        pytest.param(
            "/api/idtoken",
            lambda f, ltik: f"Bearer {ltik}",
            "Invalid or expired ltik.",
            id="bare-ltik-as-bearer",
        ),
    ],
)
def test_refuses_with_ltiaas_401(
    fake_ltiaas: FakeLtiaas, path: str, header: Refusal, description: str
) -> None:
    ltik = fake_ltiaas.launch()
    answer = call(fake_ltiaas, "GET", path, auth=header(fake_ltiaas, ltik))
    assert (answer.status, answer.body) == (401, unauthorized(description))
    assert answer.content_type == "application/json"


@pytest.mark.parametrize(
    ("scheme", "method", "path", "body"),
    [
        pytest.param("launch", "GET", "/api/idtoken", None, id="launch-idtoken"),
        pytest.param("legacy", "GET", "/api/idtoken", None, id="legacy-v1-idtoken"),
        pytest.param("launch", "GET", "/api/memberships", None, id="launch-memberships"),
        pytest.param("launch", "GET", "/api/lineitems", None, id="launch-lineitems"),
        pytest.param(
            "launch", "POST", "/api/lineitems", {"label": "L", "scoreMaximum": 1}, id="launch-create-item"
        ),
        pytest.param("launch", "GET", "/api/lineitems/{item}", None, id="launch-lineitem"),
        pytest.param("launch", "GET", "/api/lineitems/{item}/scores", None, id="launch-scores"),
        pytest.param("launch", "POST", "/api/lineitems/{item}/scores", "score", id="launch-submit-score"),
        pytest.param("launch", "POST", "/api/deeplinking", {"contentItems": []}, id="launch-deeplinking"),
        pytest.param("launch", "POST", "/api/deeplinking/form", {"contentItems": []}, id="launch-dl-form"),
        pytest.param("service", "GET", "/api/memberships", None, id="service-memberships"),
        pytest.param("service", "GET", "/api/lineitems", None, id="service-lineitems"),
        pytest.param(
            "service", "PUT", "/api/lineitems/{item}", {"label": "M", "scoreMaximum": 2}, id="service-put"
        ),
        pytest.param("service", "GET", "/api/lineitems/{item}/scores", None, id="service-scores"),
        pytest.param("service", "POST", "/api/lineitems/{item}/scores", "score", id="service-submit-score"),
        pytest.param("service", "DELETE", "/api/lineitems/{item}", None, id="service-delete-item"),
        pytest.param("bearer", "GET", "/api/registrations/{registration}", None, id="bearer-registration"),
        pytest.param(
            "bearer", "POST", "/api/registrations/{registration}/complete", None, id="bearer-complete"
        ),
        pytest.param("bearer", "GET", "/api/platforms", None, id="bearer-platforms"),
        pytest.param("bearer", "GET", "/api/platforms/{platform}", None, id="bearer-platform"),
        pytest.param("bearer", "POST", "/api/platforms/{platform}/deactivate", None, id="bearer-deactivate"),
    ],
)
def test_accepts_each_scheme_the_table_allows(
    fake_ltiaas: FakeLtiaas, scheme: str, method: str, path: str, body: Any
) -> None:
    ltik = fake_ltiaas.launch()
    headers = {
        "launch": launch_auth(fake_ltiaas, ltik),
        "legacy": f"LTIK-AUTH-V1 Token={ltik}, Additional=Bearer {fake_ltiaas.api_key}",
        "service": service_auth(fake_ltiaas, ltik),
        "bearer": bearer(fake_ltiaas),
    }
    item = new_line_item(fake_ltiaas, ltik)
    path = path.format(
        item=encoded(item["id"]),
        registration=fake_ltiaas.new_registration(),
        platform=fake_ltiaas.platform_id,
    )
    if body == "score":
        body = {"userId": "u1", "activityProgress": "Completed", "gradingProgress": "FullyGraded"}
    answer = call(fake_ltiaas, method, path, auth=headers[scheme], body=body)
    assert 200 <= answer.status < 300, answer.body


# --- idtoken


def test_idtoken_follows_the_shape_rules(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch(user_id="u1", roles=["Instructor", f"{ROLE}Mentor"], context_id="c1")
    idtoken = call(fake_ltiaas, "GET", "/api/idtoken", auth=launch_auth(fake_ltiaas, ltik)).body
    assert idtoken == fake_ltiaas.idtoken_for(ltik)
    assert idtoken["ltiVersion"] == "1.3.0"
    assert idtoken["user"]["id"] == "u1"
    assert idtoken["user"]["roles"] == [f"{ROLE}Instructor", f"{ROLE}Mentor"]
    assert idtoken["launch"]["type"] == "LtiResourceLinkRequest"
    assert idtoken["launch"]["context"]["id"] == "c1"
    assert idtoken["platform"]["id"] == fake_ltiaas.platform_id
    services = idtoken["services"]
    assert all(isinstance(services[name]["available"], bool) for name in SERVICES)
    assert [services[name]["available"] for name in SERVICES] == [False, True, True, True]
    assert services["serviceKey"] == fake_ltiaas.service_key_for(ltik)


@pytest.mark.parametrize(
    ("services", "has_key"),
    [
        pytest.param(("assignmentAndGrades",), True, id="ags"),
        pytest.param(("namesAndRoles",), True, id="nrps"),
        pytest.param(("deepLinking", "outcomes"), False, id="neither"),
        pytest.param((), False, id="none"),
    ],
)
def test_service_key_only_with_ags_or_nrps(
    fake_ltiaas: FakeLtiaas, services: tuple[str, ...], has_key: bool
) -> None:
    ltik = fake_ltiaas.launch(services=services)
    idtoken = call(fake_ltiaas, "GET", "/api/idtoken", auth=launch_auth(fake_ltiaas, ltik)).body
    assert ("serviceKey" in idtoken["services"]) is has_key
    assert {name: idtoken["services"][name]["available"] for name in SERVICES} == {
        name: name in services for name in SERVICES
    }


def test_raw_idtoken_lti13(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch(user_id="u1", roles=["Learner"])
    raw = call(fake_ltiaas, "GET", "/api/idtoken?raw=true", auth=launch_auth(fake_ltiaas, ltik)).body
    assert raw["ltiVersion"] == "1.3.0"
    assert isinstance(raw["aud"], str)
    assert isinstance(raw["exp"], int)
    assert isinstance(raw["iat"], int)
    assert raw["sub"] == "u1"
    assert raw[LTI + "message_type"] == "LtiResourceLinkRequest"
    assert raw[LTI + "roles"] == [f"{ROLE}Learner"]
    for claim in ("deployment_id", "target_link_uri"):
        assert isinstance(raw[LTI + claim], str)


def test_raw_idtoken_lti12(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch(lti_version="1.2.0", roles=["Instructor", "Learner"], resource_link_id="r1")
    auth = launch_auth(fake_ltiaas, ltik)
    raw = call(fake_ltiaas, "GET", "/api/idtoken?raw=true", auth=auth).body
    assert raw["ltiVersion"] == "1.2.0"
    assert raw["lti_message_type"] == "basic-lti-launch-request"
    assert raw["resource_link_id"] == "r1"
    assert raw["roles"] == "Instructor,Learner"
    plain = call(fake_ltiaas, "GET", "/api/idtoken?raw=false", auth=auth).body
    assert (plain["ltiVersion"], plain["launch"]["type"]) == ("1.2.0", "basic-lti-launch-request")


def test_raw_must_be_true_or_false(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch()
    answer = call(fake_ltiaas, "GET", "/api/idtoken?raw=1", auth=launch_auth(fake_ltiaas, ltik))
    assert (answer.status, answer.body["details"]["message"]) == (400, "VALIDATION_ERROR")


def test_each_launch_mints_a_unique_ltik_with_iat_and_exp() -> None:
    fake = FakeLtiaas(ltik_lifetime=600)
    issued = datetime(2030, 1, 1, tzinfo=UTC)
    first, second = (fake.launch(user_id="u1", context_id="c1", issued_at=issued) for _ in range(2))
    assert first != second
    claims = jwt.decode(first, options={"verify_signature": False})
    assert claims["iat"] == int(issued.timestamp())
    assert claims["exp"] == claims["iat"] + 600
    assert claims["user"] == "u1"
    assert {"platformUrl", "clientId", "deploymentId", "platformCode", "contextId", "s"} <= claims.keys()


# --- memberships


def test_memberships_paginate_with_next_followed_to_the_end(fake_ltiaas: FakeLtiaas) -> None:
    ltiks = [fake_ltiaas.launch(user_id=f"u{n}", context_id="c1") for n in range(5)]
    fake_ltiaas.launch(user_id="elsewhere", context_id="c2")
    auth = service_auth(fake_ltiaas, ltiks[0])
    path, users, pages = "/api/memberships?limit=2", [], 0
    while path:
        page = call(fake_ltiaas, "GET", path, auth=auth).body
        assert page["context"]["id"] == "c1"
        assert all(member["roles"] == [f"{ROLE}Learner"] for member in page["members"])
        users += [member["userId"] for member in page["members"]]
        pages += 1
        path = f"/api/memberships?url={quote(page['next'], safe='')}" if "next" in page else ""
    assert (users, pages) == ([f"u{n}" for n in range(5)], 3)
    assert fake_ltiaas.calls[-1].query["url"].startswith("https://lms.example.edu/")


def test_memberships_filter_by_role_and_resource_link(fake_ltiaas: FakeLtiaas) -> None:
    fake_ltiaas.launch(user_id="teacher", context_id="c1", roles=["Instructor"], resource_link_id="r1")
    ltik = fake_ltiaas.launch(user_id="student", context_id="c1", resource_link_id="r2")
    auth = launch_auth(fake_ltiaas, ltik)
    for query, expected in [
        ("role=Instructor", ["teacher"]),
        (f"role={quote(ROLE + 'Learner', safe='')}", ["student"]),
        ("resourceLinkId=r1", ["teacher"]),
        ("", ["teacher", "student"]),
    ]:
        members = call(fake_ltiaas, "GET", f"/api/memberships?{query}", auth=auth).body["members"]
        assert [member["userId"] for member in members] == expected, query


def test_memberships_refuse_a_next_link_encoded_twice(fake_ltiaas: FakeLtiaas) -> None:
    ltiks = [fake_ltiaas.launch(context_id="c1") for _ in range(3)]
    auth = launch_auth(fake_ltiaas, ltiks[0])
    next_link = call(fake_ltiaas, "GET", "/api/memberships?limit=1", auth=auth).body["next"]
    twice = quote(quote(next_link, safe=""), safe="")
    answer = call(fake_ltiaas, "GET", f"/api/memberships?url={twice}", auth=auth)
    assert (answer.status, answer.body["details"]["message"]) == (400, "VALIDATION_ERROR")


# --- line items and scores


def test_line_item_crud_with_a_url_id(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch()
    auth = launch_auth(fake_ltiaas, ltik)
    item = new_line_item(fake_ltiaas, ltik, tag="grade", endDateTime="2030-01-01T12:00:00+02:00")
    assert "/" in item["id"]
    assert "?" in item["id"]
    assert item["endDateTime"] == "2030-01-01T10:00:00.000Z"
    path = f"/api/lineitems/{encoded(item['id'])}"
    assert call(fake_ltiaas, "GET", path, auth=auth).body == item
    updated = call(fake_ltiaas, "PUT", path, auth=auth, body={"label": "Final", "scoreMaximum": 20}).body
    assert updated == {"id": item["id"], "label": "Final", "scoreMaximum": 20}
    assert call(fake_ltiaas, "GET", "/api/lineitems", auth=auth).body == {"lineItems": [updated]}
    assert call(fake_ltiaas, "DELETE", path, auth=auth).status == 204
    gone = call(fake_ltiaas, "GET", path, auth=auth)
    assert gone.status == 404
    assert gone.body == {
        "status": 404,
        "error": "Not Found",
        "details": {"message": "NOT_FOUND", "description": "Line item not found."},
    }


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda item_id: quote(item_id), id="slash-not-encoded"),
        pytest.param(lambda item_id: quote(quote(item_id, safe=""), safe=""), id="encoded-twice"),
    ],
)
def test_line_item_id_must_be_encoded_exactly_once(
    fake_ltiaas: FakeLtiaas, encode: Callable[[str], str]
) -> None:
    ltik = fake_ltiaas.launch()
    item = new_line_item(fake_ltiaas, ltik)
    answer = call(
        fake_ltiaas, "GET", f"/api/lineitems/{encode(item['id'])}", auth=launch_auth(fake_ltiaas, ltik)
    )
    assert answer.status == 404


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"scoreMaximum": 10}, id="no-label"),
        pytest.param({"label": "  ", "scoreMaximum": 10}, id="blank-label"),
        pytest.param({"label": "L", "scoreMaximum": 0}, id="zero-maximum"),
        pytest.param({"label": "L", "scoreMaximum": "10"}, id="string-maximum"),
        pytest.param({"label": None, "scoreMaximum": 10}, id="null-label-is-missing"),
        pytest.param(
            {"label": "L", "scoreMaximum": 10, "startDateTime": "2030-01-01T00:00:00"}, id="naive-date"
        ),
        pytest.param({"label": "L", "scoreMaximum": 10, "gradesReleased": "yes"}, id="string-bool"),
        pytest.param(b"{not json", id="bad-json"),
        pytest.param([{"label": "L"}], id="not-an-object"),
    ],
)
def test_line_item_bodies_are_validated(fake_ltiaas: FakeLtiaas, body: Any) -> None:
    ltik = fake_ltiaas.launch()
    answer = call(fake_ltiaas, "POST", "/api/lineitems", auth=launch_auth(fake_ltiaas, ltik), body=body)
    assert answer.status == 400
    assert answer.body["status"] == 400
    assert answer.body["error"] == "Bad Request"
    assert answer.body["details"]["message"] == "VALIDATION_ERROR"


def test_scores_accept_zero_and_answer_scores(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch()
    auth = service_auth(fake_ltiaas, ltik)
    item = new_line_item(fake_ltiaas, ltik)
    path = f"/api/lineitems/{encoded(item['id'])}/scores"
    score = {"activityProgress": "Completed", "gradingProgress": "FullyGraded", "scoreMaximum": 10}
    for user_id, given in [("u1", 0), ("u2", 7.5)]:
        answer = call(
            fake_ltiaas, "POST", path, auth=auth, body={**score, "userId": user_id, "scoreGiven": given}
        )
        assert answer.status == 204
    scores = call(fake_ltiaas, "GET", path, auth=auth).body["scores"]
    assert [(s["userId"], s["resultScore"], s["resultMaximum"]) for s in scores] == [
        ("u1", 0, 10),
        ("u2", 7.5, 10),
    ]
    assert all(s["scoreOf"] == item["id"] and s["id"] and s["timestamp"].endswith("Z") for s in scores)
    only = call(fake_ltiaas, "GET", f"{path}?userId=u2", auth=auth).body
    assert [s["userId"] for s in only["scores"]] == ["u2"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"scoreGiven": 1, "scoreMaximum": 1}, id="no-user"),
        pytest.param({"userId": 42, "scoreGiven": 1, "scoreMaximum": 1}, id="numeric-user"),
        pytest.param({"user_id": "u1", "scoreGiven": 1, "scoreMaximum": 1}, id="snake-case-user"),
        pytest.param({"userId": "u1", "scoreGiven": 1}, id="given-without-maximum"),
        pytest.param({"userId": "u1", "scoreGiven": -1, "scoreMaximum": 1}, id="negative"),
        pytest.param({"userId": "u1", "scoreGiven": True, "scoreMaximum": 1}, id="bool-score"),
        pytest.param({"userId": "u1", "activityProgress": "Done"}, id="unknown-progress"),
    ],
)
def test_score_bodies_are_validated(fake_ltiaas: FakeLtiaas, body: dict[str, Any]) -> None:
    ltik = fake_ltiaas.launch()
    item = new_line_item(fake_ltiaas, ltik)
    body = {"activityProgress": "Completed", "gradingProgress": "FullyGraded", **body}
    path = f"/api/lineitems/{encoded(item['id'])}/scores"
    answer = call(fake_ltiaas, "POST", path, auth=launch_auth(fake_ltiaas, ltik), body=body)
    assert (answer.status, answer.body["details"]["message"]) == (400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("services", "path"),
    [
        pytest.param(("deepLinking",), "/api/memberships", id="memberships-without-nrps"),
        pytest.param(("deepLinking",), "/api/lineitems", id="lineitems-without-ags"),
        pytest.param(("namesAndRoles",), "/api/lineitems", id="lineitems-nrps-only"),
        pytest.param(("assignmentAndGrades",), "/api/memberships", id="memberships-ags-only"),
    ],
)
def test_services_missing_from_the_launch_are_refused(
    fake_ltiaas: FakeLtiaas, services: tuple[str, ...], path: str
) -> None:
    ltik = fake_ltiaas.launch(services=services)
    answer = call(fake_ltiaas, "GET", path, auth=launch_auth(fake_ltiaas, ltik))
    assert answer.status == 400
    assert answer.body["details"]["message"] == "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"


def test_a_service_key_reaches_only_its_own_context(fake_ltiaas: FakeLtiaas) -> None:
    mine = fake_ltiaas.launch(context_id="c1")
    theirs = fake_ltiaas.launch(context_id="c2")
    item = new_line_item(fake_ltiaas, mine)
    auth = service_auth(fake_ltiaas, theirs)
    assert call(fake_ltiaas, "GET", f"/api/lineitems/{encoded(item['id'])}", auth=auth).status == 404
    assert call(fake_ltiaas, "GET", "/api/lineitems", auth=auth).body == {"lineItems": []}
    same_context = service_auth(fake_ltiaas, fake_ltiaas.launch(context_id="c1"))
    assert call(fake_ltiaas, "GET", "/api/lineitems", auth=same_context).body == {"lineItems": [item]}


# --- deep linking, registrations, platforms


def test_deep_linking_message_and_form(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch()
    auth = launch_auth(fake_ltiaas, ltik)
    body = {"contentItems": [{"type": "ltiResourceLink", "url": "https://tool.example.com/a"}]}
    message = call(fake_ltiaas, "POST", "/api/deeplinking", auth=auth, body=body).body
    assert set(message) == {"message", "target"}
    claims = jwt.decode(message["message"], options={"verify_signature": False})
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"] == body["contentItems"]
    form = call(fake_ltiaas, "POST", "/api/deeplinking/form", auth=auth, body=body).body
    assert set(form) == {"form"}
    assert message["target"] in form["form"]
    refused = call(fake_ltiaas, "POST", "/api/deeplinking", auth=auth, body={"contentItems": [{"url": "x"}]})
    assert refused.status == 400


def test_registration_plain_raw_and_complete(fake_ltiaas: FakeLtiaas) -> None:
    registration = fake_ltiaas.new_registration()
    auth = bearer(fake_ltiaas)
    plain = call(fake_ltiaas, "GET", f"/api/registrations/{registration}", auth=auth).body
    assert {m["type"] for m in plain["supportedMessages"]} <= {
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    }
    raw = call(fake_ltiaas, "GET", f"/api/registrations/{registration}?raw=true", auth=auth).body
    assert set(raw) == {"openIdConfiguration", "registrationToken"}
    configuration = raw["openIdConfiguration"]
    assert isinstance(configuration["jwks_uri"], str)
    assert configuration["https://purl.imsglobal.org/spec/lti-platform-configuration"]["messages_supported"]
    done = call(
        fake_ltiaas,
        "POST",
        f"/api/registrations/{registration}/complete",
        auth=auth,
        body={"platformName": "Moodle"},
    ).body
    platform = call(fake_ltiaas, "GET", f"/api/platforms/{done['platformId']}", auth=auth).body
    assert (platform["name"], platform["active"]) == ("Moodle", False)
    again = call(fake_ltiaas, "POST", f"/api/registrations/{registration}/complete", auth=auth)
    assert again.status == 404


def test_platform_crud_filter_and_activation(fake_ltiaas: FakeLtiaas) -> None:
    auth = bearer(fake_ltiaas)
    fields = {
        "url": "https://canvas.example.edu",
        "clientId": "10000000000001",
        "name": "Canvas",
        "authenticationEndpoint": "https://canvas.example.edu/api/lti/authorize_redirect",
        "accesstokenEndpoint": "https://canvas.example.edu/login/oauth2/token",
        "authConfig": {"method": "JWK_SET", "key": "https://canvas.example.edu/api/lti/security/jwks"},
    }
    created = call(fake_ltiaas, "POST", "/api/platforms", auth=auth, body=fields)
    assert created.status == 201
    platform = created.body
    assert {"id", "publicKey", *fields} <= platform.keys()
    found = call(fake_ltiaas, "GET", f"/api/platforms?clientId={fields['clientId']}", auth=auth).body
    assert found == {"platforms": [platform]}
    path = f"/api/platforms/{platform['id']}"
    assert call(fake_ltiaas, "POST", f"{path}/activate", auth=auth).body["active"] is True
    assert call(fake_ltiaas, "PUT", path, auth=auth, body={"name": "Canvas 2"}).body["name"] == "Canvas 2"
    bad = call(fake_ltiaas, "PUT", path, auth=auth, body={"authConfig": {"method": "PASSWORD", "key": "k"}})
    assert bad.status == 400
    assert call(fake_ltiaas, "DELETE", path, auth=auth).status == 204
    assert call(fake_ltiaas, "GET", path, auth=auth).status == 404


# --- routing and recording


def test_doubled_leading_slash_is_served_and_recorded_as_sent(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch(user_id="u1")
    answer = call(fake_ltiaas, "GET", "//api/idtoken", auth=launch_auth(fake_ltiaas, ltik))
    assert (answer.status, answer.body["user"]["id"]) == (200, "u1")
    assert fake_ltiaas.calls[-1].path == "//api/idtoken"


def test_calls_keep_the_path_percent_encoded_and_the_query_decoded(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch()
    item = new_line_item(fake_ltiaas, ltik)
    auth = launch_auth(fake_ltiaas, ltik)
    path = f"/api/lineitems/{encoded(item['id'])}/scores"
    call(fake_ltiaas, "GET", f"{path}?userId=a%20b", auth=auth)
    assert fake_ltiaas.calls[-1] == FakeCall(
        "GET", path, {"userId": "a b"}, auth, status=200, scheme="LTIK-AUTH-V2"
    )
    assert "%2F" in fake_ltiaas.calls[-1].path
    posted = fake_ltiaas.calls[0]
    assert (posted.method, posted.path, posted.status) == ("POST", "/api/lineitems", 201)
    assert json.loads(posted.body)["label"] == "Quiz"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/api/unknown", id="unknown-route"),
        pytest.param("DELETE", "/api/idtoken", id="wrong-method"),
        pytest.param("GET", "/api%2Fidtoken", id="encoded-slash-in-route"),
    ],
)
def test_unknown_routes_are_404_in_ltiaas_shape(fake_ltiaas: FakeLtiaas, method: str, path: str) -> None:
    answer = call(fake_ltiaas, method, path, auth=launch_auth(fake_ltiaas, fake_ltiaas.launch()))
    assert answer.status == 404
    assert answer.body["status"] == 404
    assert answer.body["details"]["message"] == "NOT_FOUND"


# --- faults


def test_fail_next_answers_ltiaas_error_shape_then_recovers(fake_ltiaas: FakeLtiaas) -> None:
    auth = launch_auth(fake_ltiaas, fake_ltiaas.launch())
    fake_ltiaas.fail_next(503, count=2)
    failures = [call(fake_ltiaas, "GET", "/api/idtoken", auth=auth) for _ in range(2)]
    expected = {"status": 503, "error": "Service Unavailable", "details": {"message": "SERVICE_UNAVAILABLE"}}
    assert [(a.status, a.body) for a in failures] == [(503, expected)] * 2
    assert call(fake_ltiaas, "GET", "/api/idtoken", auth=auth).status == 200
    assert [c.status for c in fake_ltiaas.calls] == [503, 503, 200]


def test_fail_next_default_401_is_ltiaas_refusal(fake_ltiaas: FakeLtiaas) -> None:
    fake_ltiaas.fail_next(401)
    answer = call(fake_ltiaas, "GET", "/api/idtoken", auth=launch_auth(fake_ltiaas, fake_ltiaas.launch()))
    assert (answer.status, answer.body) == (401, unauthorized("Invalid or expired ltik."))


@pytest.mark.parametrize(
    ("body", "expected", "content_type"),
    [
        pytest.param({"oops": True}, {"oops": True}, "application/json", id="json"),
        pytest.param("[1, 2]", [1, 2], "text/plain; charset=utf-8", id="str"),
        pytest.param(b'"raw"', "raw", "text/plain; charset=utf-8", id="bytes"),
    ],
)
def test_fail_next_with_custom_body(
    fake_ltiaas: FakeLtiaas, body: Any, expected: Any, content_type: str
) -> None:
    fake_ltiaas.fail_next(500, body=body)
    answer = call(fake_ltiaas, "GET", "/anything")
    assert (answer.status, answer.body, answer.content_type) == (500, expected, content_type)


def test_fail_next_with_headers(fake_ltiaas: FakeLtiaas) -> None:
    """Extra headers go on every answer of that fault, over real HTTP, and on nothing after it."""
    auth = launch_auth(fake_ltiaas, fake_ltiaas.launch())
    fake_ltiaas.fail_next(429, count=2, headers={"Retry-After": "2", "X-RateLimit-Remaining": "0"})
    fake_ltiaas.fail_next(502, body="<html>Bad gateway</html>", headers={"Content-Type": "text/html"})

    def get() -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(fake_ltiaas.url).port, timeout=5)
        try:
            connection.request("GET", "/api/idtoken", headers={"Authorization": auth})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    limited = [get() for _ in range(2)]
    expected = {"status": 429, "error": "Too Many Requests", "details": {"message": "TOO_MANY_REQUESTS"}}
    for status, headers, body in limited:
        assert (status, json.loads(body)) == (429, expected)  # still LTIAAS's error shape
        assert headers.get_all("Retry-After") == ["2"]
        assert headers["X-RateLimit-Remaining"] == "0"
        assert (headers["Content-Type"], headers["Cache-Control"]) == ("application/json", "no-store")

    status, headers, body = get()
    assert (status, body) == (502, b"<html>Bad gateway</html>")
    assert headers.get_all("Content-Type") == ["text/html"]  # replaced, not added

    status, headers, _ = get()
    assert status == 200
    assert "Retry-After" not in headers
    assert [c.status for c in fake_ltiaas.calls] == [429, 429, 502, 200]


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        pytest.param({"Retry-After": "2\r\nSet-Cookie: x=1"}, ValueError, id="newline-in-value"),
        pytest.param({"Retry After": "2"}, ValueError, id="space-in-name"),
        pytest.param({"": "2"}, ValueError, id="empty-name"),
        pytest.param({"Retry-After": 2}, TypeError, id="int-value"),
        pytest.param([("Retry-After", "2")], TypeError, id="not-a-mapping"),
    ],
)
def test_fail_next_refuses_bad_headers_and_queues_nothing(
    fake_ltiaas: FakeLtiaas, headers: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        fake_ltiaas.fail_next(429, headers=headers)
    assert call(fake_ltiaas, "GET", "/api/platforms", auth=bearer(fake_ltiaas)).status == 200


def test_latency_delays_every_answer(fake_ltiaas: FakeLtiaas) -> None:
    fake_ltiaas.latency = 0.2
    started = time.perf_counter()
    assert call(fake_ltiaas, "GET", "/api/idtoken").status == 401
    assert time.perf_counter() - started >= 0.2


def test_drop_next_closes_without_an_answer_and_without_noise(
    fake_ltiaas: FakeLtiaas, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ltik = fake_ltiaas.launch()
    request = urllib.request.Request(  # noqa: S310 - the fake's own http://127.0.0.1 URL
        f"{fake_ltiaas.url}/api/idtoken", headers={"Authorization": launch_auth(fake_ltiaas, ltik)}
    )
    fake_ltiaas.drop_next(count=2)
    for _ in range(2):
        with pytest.raises(ConnectionError), urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200
    assert [c.status for c in fake_ltiaas.calls] == [None, None, 200]
    assert capfd.readouterr() == ("", "")
    assert caplog.records == []


def test_reset_forgets_calls_and_pending_faults(fake_ltiaas: FakeLtiaas) -> None:
    fake_ltiaas.fail_next(500, count=3)
    assert call(fake_ltiaas, "GET", "/api/idtoken").status == 500
    fake_ltiaas.latency = 5.0
    fake_ltiaas.reset()
    assert (fake_ltiaas.calls, fake_ltiaas.latency) == ([], 0.0)
    assert call(fake_ltiaas, "GET", "/api/idtoken").status == 401


# --- lifecycle and arguments


def test_lifecycle_binds_loopback_only_and_stops_cleanly() -> None:
    fake = FakeLtiaas(api_key="k3y")
    with pytest.raises(RuntimeError):
        _ = fake.url
    with fake:
        host, port = urlsplit(fake.url).hostname, urlsplit(fake.url).port
        assert host == "127.0.0.1"
        assert fake.url == f"http://127.0.0.1:{port}"
        assert "k3y" not in repr(fake)
        assert call(fake, "GET", "/api/platforms", auth="Bearer k3y").status == 200
    fake.stop()
    with pytest.raises(RuntimeError):
        _ = fake.url
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_config_points_at_the_fake(fake_ltiaas: FakeLtiaas) -> None:
    config = fake_ltiaas.config(timeout=2.0)
    assert (config.base_url, config.api_key, config.timeout) == (fake_ltiaas.url, fake_ltiaas.api_key, 2.0)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: FakeLtiaas(api_key="has space"), id="key-not-token68"),
        pytest.param(lambda: FakeLtiaas(ltik_lifetime=0), id="zero-lifetime"),
        pytest.param(lambda: FakeLtiaas().launch(lti_version="1.1"), id="lti-version"),
        pytest.param(lambda: FakeLtiaas().launch(services=["grades"]), id="unknown-service"),
        pytest.param(lambda: FakeLtiaas().launch(issued_at=datetime(2030, 1, 1)), id="naive-datetime"),
        pytest.param(lambda: FakeLtiaas().fail_next(99), id="status"),
        pytest.param(lambda: FakeLtiaas().drop_next(0), id="count"),
    ],
)
def test_bad_arguments_raise_value_error(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()


def test_roles_as_a_bare_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        FakeLtiaas().launch(roles="Learner")


def test_expired_launch_by_aware_datetime(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch(issued_at=datetime.now(UTC) - timedelta(days=1, seconds=1))
    assert call(fake_ltiaas, "GET", "/api/idtoken", auth=launch_auth(fake_ltiaas, ltik)).status == 401
    fresh = fake_ltiaas.launch(issued_at=datetime.now(UTC) - timedelta(hours=23))
    assert call(fake_ltiaas, "GET", "/api/idtoken", auth=launch_auth(fake_ltiaas, fresh)).status == 200


# --- the pytest plugin


def test_plugin_fixture_works_in_a_project_without_conftest() -> None:
    """A separate project that relies only on the installed `pytest11` entry point."""
    project = Path(__file__).parent / "plugin_project"
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
