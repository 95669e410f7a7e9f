"""FakeLtiaas as a standalone LTIAAS: the browser flows, the fidelity points, TLS, keep-alive and the helpers.

Everything goes over real loopback HTTP(S) to a real fake; LTIAAS's own Python client (``ltiaas`` 0.0.4) is
used as LTIAAS's customers use it.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jwt
import pytest
from fake_client import Answer, call, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltiaas_auth import LtiaasConfig, UpstreamError
from ltiaas_auth.context import make_launch
from ltiaas_auth.testing import DeepLinkReturn, FakeLtiaas, make_idtoken
from ltiaas_auth.testing._fake_browser import LAUNCH_PARAMETERS

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
TOOL = "http://127.0.0.1:9/launch"  # never requested: the tests read the redirect, they do not follow it


def send(fake: FakeLtiaas, method: str, path: str, **options: Any) -> Answer:
    context = fake.ssl_context() if fake.tls else None
    return call(fake.url, method, path, context=context, **options)


def launch_auth(fake: FakeLtiaas, ltik: str) -> str:
    return f"LTIK-AUTH-V2 {fake.api_key}:{ltik}"


def ltik_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["ltik"][0]


@pytest.fixture
def tls_fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas(tls=True) as fake:
        yield fake


# --- browser flows: the picker, /lti/launch, registration, deep linking


def test_the_picker_page_offers_users_roles_courses_and_message_types(fake_ltiaas: FakeLtiaas) -> None:
    page = send(fake_ltiaas, "GET", "/")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    for expected in ('name="user_id"', 'name="roles"', 'name="context_id"', 'name="message_type"'):
        assert expected in page.body
    assert 'action="/lti/launch"' in page.body
    assert "Grace Hopper" in page.body
    assert "deep_linking" in page.body
    assert fake_ltiaas.api_key not in page.body


def test_launch_redirects_to_the_tool_with_an_ltik_that_works(fake_ltiaas: FakeLtiaas) -> None:
    query = urlencode(
        {
            "user_id": "grace",
            "roles": "Instructor,Mentor",
            "context_id": "physics-101",
            "resource_link_id": "quiz-1",
            "tool_url": f"{TOOL}?course=7",
        }
    )
    answer = send(fake_ltiaas, "GET", f"/lti/launch?{query}")
    assert answer.status == 302
    location = answer.headers["location"]
    assert location.startswith(f"{TOOL}?course=7&ltik=")
    ltik = ltik_of(location)
    idtoken = send(fake_ltiaas, "GET", "/api/idtoken", auth=launch_auth(fake_ltiaas, ltik)).body
    assert idtoken["user"]["id"] == "grace"
    assert idtoken["user"]["name"] == "Grace Hopper"  # a sample user brings their name
    assert [role.rpartition("#")[2] for role in idtoken["user"]["roles"]] == ["Instructor", "Mentor"]
    assert idtoken["launch"]["context"] == {**idtoken["launch"]["context"], "id": "physics-101"}
    assert idtoken["launch"]["context"]["title"] == "Physics 101"
    assert idtoken["launch"]["resourceLink"]["id"] == "quiz-1"
    assert fake_ltiaas.idtoken_of(ltik) == idtoken


def test_the_fakes_own_tool_url_is_the_default(fake_ltiaas: FakeLtiaas) -> None:
    with FakeLtiaas(tool_url=TOOL) as fake:
        answer = send(fake, "GET", "/lti/launch?user_id=u1&name=Someone")
        assert answer.status == 302
        assert answer.headers["location"].startswith(f"{TOOL}?ltik=")
        assert fake.idtoken_of(ltik_of(answer.headers["location"]))["user"]["name"] == "Someone"


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        pytest.param("user_id=u1", "No tool URL", id="no-tool-url"),
        pytest.param(f"tool_url={quote('javascript:alert(1)')}", "absolute http", id="not-http"),
        pytest.param(f"tool_url={quote(TOOL)}&colour=red", "Unknown launch parameters: colour", id="unknown"),
        pytest.param(f"tool_url={quote(TOOL)}&message_type=grading", "message_type", id="message-type"),
        pytest.param(f"tool_url={quote(TOOL)}&services=grades", "unknown services", id="service"),
        pytest.param(f"tool_url={quote(TOOL)}&user_id=a&user_id=b", "more than once", id="repeated"),
    ],
)
def test_a_bad_launch_query_is_a_400_page(fake_ltiaas: FakeLtiaas, query: str, problem: str) -> None:
    answer = send(fake_ltiaas, "GET", f"/lti/launch?{query}")
    assert answer.status == 400
    assert problem in answer.body
    assert "<script" not in answer.body.lower()


def test_a_deep_linking_launch_and_its_return(fake_ltiaas: FakeLtiaas) -> None:
    answer = send(fake_ltiaas, "GET", f"/lti/launch?message_type=deep_linking&tool_url={quote(TOOL)}")
    ltik = ltik_of(answer.headers["location"])
    idtoken = fake_ltiaas.idtoken_of(ltik)
    raw = fake_ltiaas.idtoken_of(ltik, raw=True)
    assert idtoken["launch"]["type"] == "LtiDeepLinkingRequest"
    assert "resourceLink" not in idtoken["launch"]
    assert raw[LTI + "message_type"] == "LtiDeepLinkingRequest"
    return_url = f"{fake_ltiaas.url}/lti/deeplinking/return"
    assert raw[DL + "deep_linking_settings"]["deep_link_return_url"] == return_url

    items = [{"type": "ltiResourceLink", "title": "Quiz 1", "url": "https://tool.example.com/quiz/1"}]
    body = {"contentItems": items, "options": {"message": "Added Quiz 1"}}
    message = send(fake_ltiaas, "POST", "/api/deeplinking", auth=launch_auth(fake_ltiaas, ltik), body=body)
    assert message.body["target"] == return_url
    posted = send(
        fake_ltiaas, "POST", "/lti/deeplinking/return", form=urlencode({"JWT": message.body["message"]})
    )
    assert posted.status == 200
    assert "Received 1 content item." in posted.body
    assert fake_ltiaas.deep_link_returns == [
        DeepLinkReturn(items, message="Added Quiz 1", claims=fake_ltiaas.deep_link_returns[0].claims)
    ]
    forged = jwt.encode(
        {"aud": "https://lms.example.edu", "iat": 0, "exp": 2**40}, "not-the-fakes-secret-" * 2
    )
    refused = send(fake_ltiaas, "POST", "/lti/deeplinking/return", form=urlencode({"JWT": forged}))
    assert refused.status == 400
    assert len(fake_ltiaas.deep_link_returns) == 1


def test_the_deep_linking_form_posts_back_to_the_fake(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch(message_type="deep_linking")
    body = {"contentItems": [{"type": "html", "html": "<p>Hi</p>"}]}
    form = send(fake_ltiaas, "POST", "/api/deeplinking/form", auth=launch_auth(fake_ltiaas, ltik), body=body)
    assert f'action="{fake_ltiaas.url}/lti/deeplinking/return"' in form.body["form"]


def test_dynamic_registration_redirects_with_a_registration_id(fake_ltiaas: FakeLtiaas) -> None:
    answer = send(fake_ltiaas, "GET", f"/lti/register?tool_url={quote('http://127.0.0.1:9/register')}")
    assert answer.status == 302
    location = urlsplit(answer.headers["location"])
    assert (location.path, list(parse_qs(location.query))) == ("/register", ["registrationId"])
    registration = parse_qs(location.query)["registrationId"][0]
    served = send(
        fake_ltiaas, "GET", f"/api/registrations/{registration}", auth=f"Bearer {fake_ltiaas.api_key}"
    )
    assert served.status == 200
    assert served.body["url"] == "https://lms.example.edu"


# --- fidelity: null is absent, both platform paths, schemes, strict routing


def test_null_optional_fields_are_absent(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch(user_id="u1")
    auth = launch_auth(fake_ltiaas, ltik)
    nulls = {"resourceLinkId": None, "resourceId": None, "tag": None, "startDateTime": None}
    created = send(
        fake_ltiaas, "POST", "/api/lineitems", auth=auth, body={"label": "Q", "scoreMaximum": 10, **nulls}
    )
    assert created.status == 201
    assert set(created.body) == {"id", "label", "scoreMaximum"}
    path = f"/api/lineitems/{quote(created.body['id'], safe='')}"
    updated = send(fake_ltiaas, "PUT", path, auth=auth, body={"label": "Q2", "scoreMaximum": 5, **nulls})
    assert (updated.status, updated.body["label"]) == (200, "Q2")
    score = {"userId": "u1", "activityProgress": "Completed", "gradingProgress": "FullyGraded"}
    send(fake_ltiaas, "POST", f"{path}/scores", auth=auth, body={**score, "scoreGiven": 4, "scoreMaximum": 5})
    assert [s["resultScore"] for s in fake_ltiaas.scores(created.body["id"])] == [4]
    cleared = send(
        fake_ltiaas,
        "POST",
        f"{path}/scores",
        auth=auth,
        body={**score, "scoreGiven": None, "scoreMaximum": None},
    )
    assert cleared.status == 204
    assert fake_ltiaas.scores(created.body["id"]) == []
    items = [{"type": "html", "html": "<p>x</p>", "title": None}]
    options = {"message": None, "log": None, "errMessage": None, "errLog": None}
    for endpoint in ("/api/deeplinking", "/api/deeplinking/form"):
        answer = send(
            fake_ltiaas, "POST", endpoint, auth=auth, body={"contentItems": items, "options": options}
        )
        assert answer.status == 200, answer.body
    missing = send(fake_ltiaas, "POST", "/api/lineitems", auth=auth, body={"label": None, "scoreMaximum": 1})
    assert (missing.status, missing.description) == (400, "`label` is required.")


@pytest.mark.parametrize("prefix", ["/admin/platforms", "/api/platforms"])
def test_platforms_are_served_under_both_paths(fake_ltiaas: FakeLtiaas, prefix: str) -> None:
    auth = f"Bearer {fake_ltiaas.api_key}"
    listed = send(fake_ltiaas, "GET", prefix, auth=auth).body["platforms"]
    assert [p["id"] for p in listed] == [fake_ltiaas.platform_id]
    fields = {
        "url": "https://other.example.edu",
        "clientId": "c",
        "name": "Other",
        "authenticationEndpoint": "https://other.example.edu/auth",
        "accesstokenEndpoint": "https://other.example.edu/token",
        "authConfig": {"method": "JWK_SET", "key": "https://other.example.edu/jwks"},
    }
    created = send(fake_ltiaas, "POST", prefix, auth=auth, body=fields).body
    other = "/api/platforms" if prefix == "/admin/platforms" else "/admin/platforms"
    assert send(fake_ltiaas, "GET", f"{other}/{created['id']}", auth=auth).body == created
    assert send(fake_ltiaas, "POST", f"{prefix}/{created['id']}/activate", auth=auth).body["active"] is True


def test_each_call_keeps_its_scheme(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch()
    key = fake_ltiaas.api_key
    service = fake_ltiaas.service_key_for(ltik)
    sent = [
        ("/api/idtoken", f"LTIK-AUTH-V2 {key}:{ltik}"),
        ("/api/memberships", f"SERVICE-AUTH-V1 {key}:{service}"),
        ("/admin/platforms", f"Bearer {key}"),
        ("/api/idtoken", f"LTIK-AUTH-V1 Token={ltik}, Additional=Bearer {key}"),
        ("/api/idtoken", None),
        ("/api/idtoken", f"Basic {key}"),
    ]
    for path, auth in sent:
        send(fake_ltiaas, "GET", path, auth=auth)
    assert [(c.scheme, c.status) for c in fake_ltiaas.calls] == [
        ("LTIK-AUTH-V2", 200),
        ("SERVICE-AUTH-V1", 200),
        ("Bearer", 200),
        ("LTIK-AUTH-V1", 200),
        (None, 401),
        (None, 401),
    ]
    assert key not in repr(fake_ltiaas.calls)


def test_legacy_v1_can_be_refused() -> None:
    with FakeLtiaas(legacy_v1=False) as fake:
        ltik = fake.launch()
        legacy = send(
            fake, "GET", "/api/idtoken", auth=f"LTIK-AUTH-V1 Token={ltik}, Additional=Bearer {fake.api_key}"
        )
        assert (legacy.status, legacy.description) == (401, "Invalid or expired ltik.")
        assert send(fake, "GET", "/api/idtoken", auth=launch_auth(fake, ltik)).status == 200
        assert fake.calls[0].scheme == "LTIK-AUTH-V1"


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(lambda f, ltik: "Bearer wrong-key", id="bad-key"),
        pytest.param(lambda f, ltik: launch_auth(f, ltik), id="launch-scheme"),
        pytest.param(
            lambda f, ltik: f"SERVICE-AUTH-V1 {f.api_key}:{f.service_key_for(ltik)}", id="service-scheme"
        ),
        pytest.param(lambda f, ltik: f"bearer {f.api_key}", id="scheme-case"),
        pytest.param(lambda f, ltik: None, id="no-header"),
    ],
)
@pytest.mark.parametrize("path", ["/admin/platforms", "/api/platforms", "/api/registrations/x"])
def test_api_key_routes_say_the_api_key_is_what_they_need(
    fake_ltiaas: FakeLtiaas, path: str, auth: Any
) -> None:
    answer = send(fake_ltiaas, "GET", path, auth=auth(fake_ltiaas, fake_ltiaas.launch()))
    assert (answer.status, answer.description) == (401, "Invalid API key")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/api/%69dtoken", 404, id="encoded-route-segment"),
        pytest.param("GET", "/%61pi/idtoken", 404, id="encoded-prefix"),
        pytest.param("GET", "/API/idtoken", 404, id="upper-case-segment"),
        pytest.param("get", "/api/idtoken", 400, id="lower-case-method"),
        pytest.param("Get", "/api/idtoken", 400, id="mixed-case-method"),
        pytest.param("GET", "/api/idtoken?raw=true&raw=false", 400, id="repeated-query-value"),
    ],
)
def test_requests_ltiaas_would_not_route_are_refused(
    fake_ltiaas: FakeLtiaas, method: str, path: str, status: int
) -> None:
    answer = send(fake_ltiaas, method, path, auth=launch_auth(fake_ltiaas, fake_ltiaas.launch()))
    assert answer.status == status
    assert answer.body["status"] == status


def test_an_encoded_id_inside_a_segment_still_routes(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch()
    auth = launch_auth(fake_ltiaas, ltik)
    item = send(fake_ltiaas, "POST", "/api/lineitems", auth=auth, body={"label": "Q", "scoreMaximum": 1}).body
    assert "/" in item["id"]
    answer = send(fake_ltiaas, "GET", f"/api/lineitems/{quote(item['id'], safe='')}", auth=auth)
    assert (answer.status, answer.body) == (200, item)


# --- keep-alive and TLS


def test_five_requests_over_one_keep_alive_connection_count_one(fake_ltiaas: FakeLtiaas) -> None:
    ltik = fake_ltiaas.launch()
    link = connection(fake_ltiaas.url)
    try:
        for _ in range(5):
            link.request("GET", "/api/idtoken", headers={"Authorization": launch_auth(fake_ltiaas, ltik)})
            response = link.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") != "close"
            response.read()
    finally:
        link.close()
    assert len(fake_ltiaas.calls) == 5
    assert fake_ltiaas.connections == 1
    send(fake_ltiaas, "GET", "/api/idtoken")
    assert fake_ltiaas.connections == 2


def test_stop_closes_idle_keep_alive_connections() -> None:
    fake = FakeLtiaas().start()
    link = connection(fake.url)
    link.request("GET", "/api/idtoken")
    link.getresponse().read()
    fake.stop()
    try:
        link.request("GET", "/api/idtoken")
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            link.getresponse()
    finally:
        link.close()


def test_tls_fake_serves_https_trusted_through_its_context(tls_fake: FakeLtiaas) -> None:
    assert tls_fake.url.startswith("https://127.0.0.1:")
    assert tls_fake.ca_file is not None
    assert "BEGIN CERTIFICATE" in Path(tls_fake.ca_file).read_text()
    ltik = tls_fake.launch(user_id="u-tls")
    config = tls_fake.config()
    assert config.ssl_context is not None
    assert make_launch(config, ltik).idtoken()["user"]["id"] == "u-tls"
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=tls_fake.ssl_context()), urllib.request.ProxyHandler({})
    )
    request = urllib.request.Request(  # noqa: S310 - the fake's https URL
        f"{tls_fake.url}/api/idtoken", headers={"Authorization": launch_auth(tls_fake, ltik)}
    )
    with opener.open(request, timeout=5) as response:
        assert response.status == 200


def test_the_default_trust_store_refuses_the_tls_fake(tls_fake: FakeLtiaas) -> None:
    ltik = tls_fake.launch()
    config = LtiaasConfig(tls_fake.api_key, tls_fake.url)  # no ssl_context: the system's trust store
    with pytest.raises(UpstreamError) as raised:
        make_launch(config, ltik).idtoken()
    text = f"{raised.value} {raised.value!r} {raised.value.description}"
    assert "cert" in text.lower()  # the certificate check is what failed (SSLCertVerificationError)
    assert tls_fake.api_key not in text
    assert ltik not in text
    with pytest.raises(ssl.SSLCertVerificationError):
        call(tls_fake.url, "GET", "/api/idtoken", context=ssl.create_default_context())


def test_tls_needs_no_plain_http_and_a_non_loopback_host_needs_tls() -> None:
    with pytest.raises(ValueError, match="TLS"):
        FakeLtiaas(host="192.0.2.1")
    with pytest.raises(RuntimeError, match="tls=True"):
        FakeLtiaas().ssl_context()
    assert FakeLtiaas().ca_file is None


# --- helpers


def test_add_members_seeds_a_roster_of_a_thousand_for_pagination(fake_ltiaas: FakeLtiaas) -> None:
    fake_ltiaas.add_members("big", [f"student-{n:04}" for n in range(998)], context_title="Big course")
    fake_ltiaas.add_members("big", [{"user_id": "ta", "name": "Tess Ant", "roles": ["TeachingAssistant"]}])
    ltik = fake_ltiaas.launch(user_id="teacher", roles=["Instructor"], context_id="big")
    auth = launch_auth(fake_ltiaas, ltik)
    seen: list[str] = []
    page = send(fake_ltiaas, "GET", "/api/memberships?limit=100", auth=auth).body
    pages = 1
    while "next" in page:
        seen += [m["userId"] for m in page["members"]]
        page = send(
            fake_ltiaas, "GET", f"/api/memberships?url={quote(page['next'], safe='')}", auth=auth
        ).body
        pages += 1
    seen += [m["userId"] for m in page["members"]]
    assert (len(seen), len(set(seen)), pages) == (1000, 1000, 10)
    assert seen[:2] == ["student-0000", "student-0001"]
    assert seen[-2:] == ["ta", "teacher"]
    assert page["context"] == {"id": "big", "title": "Big course"}
    with pytest.raises(ValueError):
        fake_ltiaas.add_members("big", ["ok", {"name": "no id"}])
    assert fake_ltiaas.idtoken_of(ltik)["launch"]["context"]["id"] == "big"


def test_make_idtoken_needs_no_server_and_takes_the_launch_keywords() -> None:
    idtoken = make_idtoken(
        user_id="u1", roles=["Instructor"], message_type="deep_linking", services=["deepLinking"]
    )
    assert idtoken["user"]["id"] == "u1"
    assert idtoken["user"]["roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
    assert idtoken["launch"]["type"] == "LtiDeepLinkingRequest"
    assert "serviceKey" not in idtoken["services"]
    assert "serviceKey" in make_idtoken()["services"]
    with pytest.raises(ValueError):
        make_idtoken(message_type="grading")
    with pytest.raises(TypeError):
        make_idtoken(colour="red")


def test_scores_of_an_unknown_line_item_is_a_key_error(fake_ltiaas: FakeLtiaas) -> None:
    with pytest.raises(KeyError):
        fake_ltiaas.scores("https://lms.example.edu/nothing")


def test_the_session_fixture_is_one_fake_for_the_session(
    fake_ltiaas_session: FakeLtiaas, request: Any
) -> None:
    assert request.getfixturevalue("fake_ltiaas_session") is fake_ltiaas_session
    assert send(fake_ltiaas_session, "GET", "/").status == 200


# --- LTIAAS's own Python client (ltiaas 0.0.4) against the TLS fake


@pytest.fixture
def official(tls_fake: FakeLtiaas) -> Iterator[Any]:
    """``LTIAASLaunch`` for a launch (it always speaks https: the TLS fake, its CA trusted)."""
    from ltiaas import LTIAASLaunch

    made: list[Any] = []

    def make(ltik: str | None = None, service_key: str | None = None) -> Any:
        client = LTIAASLaunch(
            urlsplit(tls_fake.url).netloc, tls_fake.api_key, ltik=ltik, service_key=service_key
        )
        client._request_handler.session.verify = tls_fake.ca_file
        client._request_handler.session.trust_env = False  # loopback: no proxy
        made.append(client)
        return client

    yield make
    for client in made:
        client._request_handler.session.close()


@pytest.fixture
def id_encoding_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Correct the official client's own id defect (line item ids encoded with `/` left as it is, which
    LTIAAS answers 404): what is left to test is how its bodies, nulls included, are taken."""
    monkeypatch.setattr("ltiaas.client.launch.quote", lambda value: quote(value, safe=""))


def test_the_official_client_creates_and_updates_line_items(tls_fake: FakeLtiaas, official: Any) -> None:
    from ltiaas import LineItem

    client = official(tls_fake.launch())
    created = client.create_line_item(LineItem(label="Quiz", score_maximum=10))  # nulls for the rest
    assert created.label == "Quiz"
    assert created.id.startswith("https://lms.example.edu/")
    assert tls_fake.calls[-1].body.count(b"null") >= 4
    # As shipped, its update reaches a path LTIAAS does not route (its own defect): 404.
    with pytest.raises(Exception, match="404"):
        client.update_line_item(created.id, LineItem(label="Quiz 2", score_maximum=20))
    assert tls_fake.calls[-1].status == 404


def test_the_official_client_updates_once_its_id_encoding_is_fixed(
    tls_fake: FakeLtiaas, official: Any, id_encoding_fixed: None
) -> None:
    from ltiaas import LineItem

    client = official(tls_fake.launch())
    created = client.create_line_item(LineItem(label="Quiz", score_maximum=10))
    updated = client.update_line_item(created.id, LineItem(label="Quiz 2", score_maximum=20, tag=None))
    assert (updated.id, updated.label, updated.score_maximum) == (created.id, "Quiz 2", 20)
    assert b'"tag": null' in tls_fake.calls[-1].body
    assert tls_fake.calls[-1].status == 200


def test_the_official_client_builds_both_deep_linking_answers(tls_fake: FakeLtiaas, official: Any) -> None:
    from ltiaas import HTMLFragmentContentItem

    ltik = tls_fake.launch(message_type="deep_linking")
    client = official(ltik)
    items = [HTMLFragmentContentItem(html="<p>Hello</p>", title="Greeting")]
    form = client.build_deep_linking_form(items, message="Added")
    assert f"{tls_fake.url}/lti/deeplinking/return" in form.form
    components = client.build_deep_linking_form_components(items)
    assert components.target == f"{tls_fake.url}/lti/deeplinking/return"
    claims = jwt.decode(components.message, options={"verify_signature": False})
    assert claims[DL + "content_items"] == [{"type": "html", "html": "<p>Hello</p>", "title": "Greeting"}]


def test_the_official_client_clears_a_score(
    tls_fake: FakeLtiaas, official: Any, id_encoding_fixed: None
) -> None:
    from ltiaas import ActivityProgress, GradingProgress, LineItem, Score

    ltik = tls_fake.launch(user_id="u1")
    client = official(service_key=tls_fake.service_key_for(ltik))
    item = client.create_line_item(LineItem(label="Quiz", score_maximum=10))
    progress = {
        "activity_progress": ActivityProgress.COMPLETED,
        "grading_progress": GradingProgress.FULLY_GRADED,
    }
    client.submit_score(item.id, Score(user_id="u1", score_given=7, score_maximum=10, **progress))
    assert [s["resultScore"] for s in tls_fake.scores(item.id)] == [7]
    client.submit_score(item.id, Score(user_id="u1", **progress))  # scoreGiven: null clears the result
    assert b'"scoreGiven": null' in tls_fake.calls[-1].body
    assert tls_fake.scores(item.id) == []
    assert [call.scheme for call in tls_fake.calls] == ["SERVICE-AUTH-V1"] * 3


# --- the typed API client on the fake (fake.client(), fake.async_client())


def test_the_api_client_works_against_the_tls_fake(tls_fake: FakeLtiaas) -> None:
    from ltiaas_auth.context import launch_context

    ltik = tls_fake.launch(user_id="u1", roles=["Instructor"], context_id="c1")
    tls_fake.add_members("c1", ["u2", "u3"])
    with tls_fake.client() as client, launch_context(tls_fake.config(), ltik):
        assert client.idtoken().user.id == "u1"
        assert sorted(member.user_id for member in client.memberships(limit=2)) == ["u1", "u2", "u3"]
        item = client.create_line_item(label="Quiz", score_maximum=10)
        client.submit_score(item.id, user_id="u2", score_given=0, score_maximum=10)
    assert [(s["userId"], s["resultScore"]) for s in tls_fake.scores(item.id)] == [("u2", 0)]
    assert {call.scheme for call in tls_fake.calls} == {"LTIK-AUTH-V2"}


def test_the_async_api_client_works_against_the_fake(fake_ltiaas: FakeLtiaas) -> None:
    import asyncio

    from ltiaas_auth.context import launch_context

    ltik = fake_ltiaas.launch(user_id="u1")

    async def main() -> list[str]:
        async with fake_ltiaas.async_client() as client:
            with launch_context(fake_ltiaas.config(), ltik):
                return [member.user_id async for member in client.memberships()]

    assert asyncio.run(main()) == ["u1"]


# --- properties: whatever a browser or a client sends, an answer (never a 500, never a drop)

QUERY_NAMES = (*LAUNCH_PARAMETERS, "junk")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.lists(st.tuples(st.sampled_from(QUERY_NAMES), st.text(max_size=30)), max_size=6),
)
def test_any_launch_query_is_a_redirect_or_a_400(
    fake_ltiaas: FakeLtiaas, query: list[tuple[str, str]]
) -> None:
    answer = send(fake_ltiaas, "GET", f"/lti/launch?{urlencode([('tool_url', TOOL), *query])}")
    assert answer.status in (302, 400)
    if answer.status == 302:
        assert answer.headers["location"].startswith(f"{TOOL}?ltik=")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "get", "PATCH"]),
    segments=st.lists(
        st.sampled_from(
            ["api", "admin", "lti", "idtoken", "lineitems", "platforms", "scores", "%2F", "x", ""]
        ),
        max_size=5,
    ),
    body=st.one_of(
        st.none(), st.binary(max_size=40), st.dictionaries(st.text(max_size=8), st.none(), max_size=3)
    ),
)
def test_any_request_gets_an_answer_in_ltiaas_shape_or_a_page(
    fake_ltiaas: FakeLtiaas, method: str, segments: list[str], body: Any
) -> None:
    ltik = fake_ltiaas.launch()
    answer = send(
        fake_ltiaas, method, "/" + "/".join(segments), auth=launch_auth(fake_ltiaas, ltik), body=body
    )
    assert answer.status < 500
    if answer.headers.get("content-type", "").startswith("application/json"):
        assert answer.body["status"] == answer.status


@pytest.mark.parametrize("port", [-1, 65536, True, "80"])
def test_a_port_outside_the_range_is_refused(port: Any) -> None:
    with pytest.raises(ValueError, match="port"):
        FakeLtiaas(port=port)


def test_a_given_port_and_a_loopback_name_are_used() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with FakeLtiaas(host="localhost", port=port) as fake:
        assert fake.url == f"http://localhost:{port}"
        assert send(fake, "GET", "/").status == 200
        with pytest.raises(OSError), FakeLtiaas(port=port):  # the port is taken now
            pass


@pytest.mark.parametrize(
    ("role", "uri", "is_teaching_assistant"),
    [
        pytest.param(
            "Learner", "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner", False, id="role"
        ),
        pytest.param(
            "Instructor#TeachingAssistant",
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
            True,
            id="sub-role",
        ),
    ],
)
def test_launch_roles_are_lti_13_role_uris(role: str, uri: str, is_teaching_assistant: bool) -> None:
    from ltiaas_auth import Roles

    idtoken = make_idtoken(roles=[role])
    assert idtoken["user"]["roles"] == [uri]
    assert Roles.from_idtoken(idtoken).is_teaching_assistant is is_teaching_assistant
