"""What LTIAAS does, call by call: the contract FakeLtiaas implements and the rest of ltiaas_auth relies on.

Each test states one behaviour of LTIAAS's API (reference: LTIAAS's docs and SDKs) and runs against every
target of ``conftest.py``: FakeLtiaas over HTTP and over TLS always, and a real LTIAAS account when
``LTIAAS_CONTRACT_URL``, ``LTIAAS_CONTRACT_API_KEY`` and ``LTIAAS_CONTRACT_LTIK`` are all set. A test that
passes on the fake and fails live is a place where the fake (and possibly ltiaas_auth) is wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from contract_targets import LIVE_VARIABLES, Target, live_refusal
from security_helpers import tampered

INVALID_AUTH = "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
LAUNCH_TYPES = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest", "basic-lti-launch-request")
SERVICES = ("outcomes", "deepLinking", "assignmentAndGrades", "namesAndRoles")
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LABEL = "ltiaas-auth contract"


def assert_error_shape(body: Any, status: int) -> None:
    """LTIAAS's error shape: a numeric status, the reason phrase, details.message."""
    assert isinstance(body, dict)
    assert body["status"] == status
    assert isinstance(body["error"], str)
    assert isinstance(body["details"]["message"], str)


def requires(target: Target, service: str) -> None:
    if not target.idtoken()["services"][service]["available"]:
        pytest.skip(f"the launch has no {service} service")


# --- the idtoken


def test_idtoken_has_the_guaranteed_fields(target: Target) -> None:
    idtoken = target.idtoken()
    assert isinstance(idtoken["user"]["id"], str)
    assert isinstance(idtoken["user"]["roles"], list)
    assert idtoken["launch"]["type"] in LAUNCH_TYPES
    for service in SERVICES:
        assert isinstance(idtoken["services"][service]["available"], bool)
    has_key = (
        idtoken["services"]["assignmentAndGrades"]["available"]
        or (idtoken["services"]["namesAndRoles"]["available"])
    )
    assert ("serviceKey" in idtoken["services"]) is has_key


def test_raw_idtoken_carries_the_lms_claims(target: Target) -> None:
    raw = target.request("GET", "/api/idtoken?raw=true", auth=target.launch_auth()).body
    assert raw["ltiVersion"] in ("1.3.0", "1.2.0")
    if raw["ltiVersion"] == "1.3.0":
        assert isinstance(raw["aud"], str)
        assert isinstance(raw["exp"], int | float)
        assert isinstance(raw["iat"], int | float)
        for claim in ("message_type", "deployment_id", "target_link_uri", "roles"):
            assert LTI + claim in raw
    else:
        assert "lti_message_type" in raw
        assert isinstance(raw["roles"], str)


# --- authorization


@pytest.mark.parametrize(
    ("path", "make", "description"),
    [
        pytest.param(
            "/api/idtoken", lambda t: t.launch_auth(api_key="wrong-key"), "Invalid API key", id="wrong-key"
        ),
        pytest.param(
            "/api/idtoken",
            lambda t: t.launch_auth(tampered(t.ltik)),
            "Invalid or expired ltik.",
            id="tampered-ltik",
        ),
        pytest.param("/api/idtoken", lambda t: None, "Invalid or expired ltik.", id="no-header"),
        pytest.param(
            "/api/idtoken", lambda t: t.bearer(), "Invalid or expired ltik.", id="bearer-on-idtoken"
        ),
        pytest.param(
            "/api/idtoken",
            lambda t: f"ltik-auth-v2 {t.api_key}:{t.ltik}",
            "Invalid or expired ltik.",
            id="scheme-case",
        ),
        pytest.param(
            "/admin/platforms", lambda t: t.bearer("wrong-key"), "Invalid API key", id="wrong-bearer"
        ),
        pytest.param(
            "/admin/platforms", lambda t: t.launch_auth(), "Invalid API key", id="launch-on-platforms"
        ),
    ],
)
def test_a_refused_credential_is_a_401_naming_what_was_wrong(
    target: Target, path: str, make: Any, description: str
) -> None:
    answer = target.request("GET", path, auth=make(target))
    assert answer.status == 401
    assert_error_shape(answer.body, 401)
    assert answer.body["details"]["message"] == INVALID_AUTH
    assert answer.description == description


def test_a_service_key_reaches_the_roster(target: Target) -> None:
    requires(target, "namesAndRoles")
    auth = target.service_auth()
    assert auth is not None
    assert target.request("GET", "/api/memberships", auth=auth).status == 200
    refused = target.request("GET", "/api/idtoken", auth=auth)
    assert (refused.status, refused.description) == (401, "Invalid or expired ltik.")


# --- memberships


def test_memberships_page_with_next_and_follow_it_as_url(target: Target) -> None:
    requires(target, "namesAndRoles")
    auth = target.launch_auth()
    first = target.request("GET", "/api/memberships?limit=1", auth=auth).body
    assert isinstance(first["id"], str)
    assert isinstance(first["context"]["id"], str)
    assert len(first["members"]) <= 1
    for member in first["members"]:
        assert isinstance(member["userId"], str)
        assert isinstance(member["roles"], list)
    if "next" not in first:
        pytest.skip("the roster has one member: no second page to follow")
    second = target.request("GET", f"/api/memberships?url={quote(first['next'], safe='')}", auth=auth)
    assert second.status == 200
    assert second.body["members"]
    assert second.body["members"][0]["userId"] != first["members"][0]["userId"]


# --- line items and scores (one line item of the suite's own, deleted at the end)


def test_a_line_item_lives_graded_and_dies(target: Target) -> None:
    requires(target, "assignmentAndGrades")
    auth = target.launch_auth()
    user_id = target.idtoken()["user"]["id"]
    listed = target.request("GET", "/api/lineitems", auth=auth)
    assert listed.status == 200
    assert isinstance(listed.body["lineItems"], list)

    created = target.request("POST", "/api/lineitems", auth=auth, body={"label": LABEL, "scoreMaximum": 10})
    assert 200 <= created.status < 300
    item = created.body
    assert (item["label"], item["scoreMaximum"]) == (LABEL, 10)
    path = f"/api/lineitems/{quote(item['id'], safe='')}"  # a URL: encoded once, `/` included
    try:
        assert target.request("GET", path, auth=auth).body["id"] == item["id"]
        score = {
            "userId": user_id,
            "scoreGiven": 0,  # a score of 0 is a score
            "scoreMaximum": 10,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
        }
        assert 200 <= target.request("POST", f"{path}/scores", auth=auth, body=score).status < 300
        scores = target.request("GET", f"{path}/scores", auth=auth).body["scores"]
        mine = [s for s in scores if s["userId"] == user_id]
        assert [s["resultScore"] for s in mine] == [0]
        assert mine[0]["scoreOf"] == item["id"]
    finally:
        deleted = target.request("DELETE", path, auth=auth)
    assert 200 <= deleted.status < 300
    gone = target.request("GET", path, auth=auth)
    assert gone.status == 404
    assert_error_shape(gone.body, 404)


def test_null_optional_fields_are_taken_as_absent(target: Target) -> None:
    """LTIAAS's own Python client sends ``null`` for every unset optional field."""
    requires(target, "assignmentAndGrades")
    auth = target.launch_auth()
    body = {"label": LABEL, "scoreMaximum": 5, "resourceId": None, "tag": None, "endDateTime": None}
    created = target.request("POST", "/api/lineitems", auth=auth, body=body)
    assert 200 <= created.status < 300, created.body
    assert created.body.get("tag") is None
    assert (
        200
        <= target.request("DELETE", f"/api/lineitems/{quote(created.body['id'], safe='')}", auth=auth).status
        < 300
    )


def test_a_line_item_id_not_encoded_once_is_not_found(target: Target) -> None:
    requires(target, "assignmentAndGrades")
    unknown = target.request(
        "GET",
        f"/api/lineitems/{quote('https://lms.example.edu/nothing', safe='')}",
        auth=target.launch_auth(),
    )
    assert unknown.status == 404
    assert_error_shape(unknown.body, 404)


# --- deep linking


def test_deep_linking_signs_the_items_for_the_lms(target: Target) -> None:
    requires(target, "deepLinking")
    auth = target.launch_auth()
    body = {
        "contentItems": [{"type": "ltiResourceLink", "title": LABEL, "url": "https://tool.example.com/x"}]
    }
    message = target.request("POST", "/api/deeplinking", auth=auth, body=body)
    assert message.status == 200
    assert set(message.body) >= {"message", "target"}
    assert message.body["message"].count(".") == 2  # a JWS
    form = target.request("POST", "/api/deeplinking/form", auth=auth, body=body)
    assert form.status == 200
    assert message.body["target"] in form.body["form"]


# --- platforms (read only against a live account)


@pytest.mark.parametrize("path", ["/admin/platforms", "/api/platforms"])
def test_platforms_are_listed_for_the_api_key(target: Target, path: str) -> None:
    answer = target.request("GET", path, auth=target.bearer())
    assert answer.status == 200
    for platform in answer.body["platforms"]:
        for name in ("id", "url", "clientId", "name", "authenticationEndpoint", "accesstokenEndpoint"):
            assert isinstance(platform[name], str)
        assert platform["authConfig"]["method"] in ("JWK_SET", "JWK_KEY", "RSA_KEY")


# --- routing


def test_an_encoded_route_segment_is_not_the_route(target: Target) -> None:
    answer = target.request("GET", "/api/%69dtoken", auth=target.launch_auth())
    assert answer.status == 404


# --- the live mode itself


def test_live_mode_is_refused_without_all_three_variables() -> None:
    assert live_refusal({}) is not None
    assert "LTIAAS_CONTRACT_LTIK" in str(
        live_refusal({"LTIAAS_CONTRACT_URL": "u", "LTIAAS_CONTRACT_API_KEY": "k"})
    )
    assert live_refusal(dict.fromkeys(LIVE_VARIABLES, "set")) is None
    assert live_refusal({**dict.fromkeys(LIVE_VARIABLES, "set"), "LTIAAS_CONTRACT_LTIK": "  "}) is not None


def test_a_partial_live_setup_skips_with_the_missing_names_and_never_prints_values(tmp_path: Path) -> None:
    secrets = {
        "LTIAAS_CONTRACT_URL": "https://contract-secret-url.example",
        "LTIAAS_CONTRACT_API_KEY": "k3y-SECRET-987",
    }
    env = {k: v for k, v in os.environ.items() if k not in LIVE_VARIABLES and k != "PYTEST_ADDOPTS"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            "-q",
            str(Path(__file__).parent),
            "-k",
            "live and idtoken_has",
        ],
        env={**env, **secrets},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 skipped" in output
    assert "missing: LTIAAS_CONTRACT_LTIK" in output
    for value in secrets.values():
        assert value not in output
