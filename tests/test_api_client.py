"""Every method of LtiaasClient and AsyncLtiaasClient against the real FakeLtiaas, in the contexts the
authorization table allows (launch, service key, API key), and refused before sending in the others."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from api_helpers import DRIVERS

from ltiaas_auth import (
    ForeignOriginError,
    LtiaasConfig,
    NoLaunchContext,
    api_key_context,
    launch_context,
    service_context,
)
from ltiaas_auth.api import (
    File,
    Html,
    IdToken,
    Image,
    ImageRef,
    LineItem,
    Link,
    LtiResourceLink,
    Member,
    Platform,
    Result,
)
from ltiaas_auth.testing import FakeLtiaas


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as started:
        yield started


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, fake: FakeLtiaas) -> Iterator[Any]:
    with DRIVERS[request.param](fake.config()) as driver:
        yield driver


def scope(fake: FakeLtiaas, kind: str, ltik: str) -> Any:
    config = fake.config()
    if kind == "launch":
        return launch_context(config, ltik)
    key = fake.service_key_for(ltik)
    assert key is not None
    return service_context(config, key)


BOTH = pytest.mark.parametrize("kind", ["launch", "service"])


# --- launch only


def test_idtoken_and_raw_idtoken(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch(user_id="u-1", roles=["Instructor"], context_id="course-1")
    with launch_context(fake.config(), ltik):
        idtoken = api("idtoken")
        raw = api("raw_idtoken")
    assert isinstance(idtoken, IdToken)
    assert idtoken.user.id == "u-1"
    assert idtoken.user.roles.is_instructor
    assert not idtoken.user.roles.is_learner
    assert idtoken.launch is not None
    assert idtoken.launch.context is not None
    assert idtoken.launch.context.id == "course-1"
    assert idtoken.services is not None
    assert idtoken.services.service_key == fake.service_key_for(ltik)
    assert idtoken.raw == fake.idtoken_for(ltik)
    assert raw == fake.idtoken_for(ltik, raw=True)
    assert [(c.path, c.query) for c in fake.calls] == [
        ("/api/idtoken", {}),
        ("/api/idtoken", {"raw": "true"}),
    ]


ALL_ITEMS = [
    LtiResourceLink(
        title="Quiz",
        url="https://tool.example.com/quiz?id=1",
        custom={"quiz": "1"},
        line_item={"scoreMaximum": 10, "label": "Quiz"},
        icon=ImageRef(url="https://tool.example.com/icon.png", width=32, height=32),
    ),
    Link(url="https://example.com/page", title="A page"),
    File(url="https://example.com/a.pdf", title="A file", expires_at=datetime(2027, 1, 1, tzinfo=UTC)),
    Image(url="https://example.com/a.png", width=640, height=480),
    Html(html="<p>Hello</p>", title="Some HTML"),
]


def test_deep_linking_form_with_all_five_item_types(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    with launch_context(fake.config(), ltik):
        form = api("deep_linking_form", ALL_ITEMS, message="Done", log="ok", error_message="x", error_log="y")
    assert form.startswith("<form")
    assert 'name="JWT"' in form
    (call,) = fake.calls
    sent = json.loads(call.body)
    assert [item["type"] for item in sent["contentItems"]] == [
        "ltiResourceLink",
        "link",
        "file",
        "image",
        "html",
    ]
    assert sent["contentItems"][0]["lineItem"] == {"scoreMaximum": 10, "label": "Quiz"}
    assert sent["contentItems"][2]["expiresAt"] == "2027-01-01T00:00:00Z"
    assert sent["options"] == {"message": "Done", "log": "ok", "errMessage": "x", "errLog": "y"}


def test_deep_linking_components_take_models_and_dicts(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    with launch_context(fake.config(), ltik):
        components = api(
            "deep_linking_components", [Link(url="https://example.com"), {"type": "html", "html": "<b/>"}]
        )
    assert components.target.startswith(("http://", "https://"))
    assert components.message.count(".") == 2  # a signed JWT
    assert "options" not in json.loads(fake.calls[-1].body)  # none given: none sent


# --- launch or service key


@BOTH
def test_roster_of_1000_in_pages_of_100(fake: FakeLtiaas, api: Any, kind: str) -> None:
    ltik = fake.launch(user_id="m-0000", context_id="big")
    for n in range(1, 1000):
        fake.launch(user_id=f"m-{n:04d}", context_id="big")
    fake.reset()
    with scope(fake, kind, ltik):
        members = api("memberships", limit=100)
    assert all(isinstance(m, Member) for m in members)
    assert [m.user_id for m in members] == [f"m-{n:04d}" for n in range(1000)]
    assert len(fake.calls) == 10
    assert fake.calls[0].query == {"limit": "100"}
    assert all(set(c.query) == {"url"} and c.path == "/api/memberships" for c in fake.calls[1:])


def test_memberships_filters(fake: FakeLtiaas, api: Any) -> None:
    teacher = fake.launch(user_id="t", roles=["Instructor"], context_id="c", resource_link_id="r1")
    fake.launch(user_id="s", roles=["Learner"], context_id="c", resource_link_id="r2")
    with launch_context(fake.config(), teacher):
        learners = api("memberships", role="Learner")
        on_r1 = api("memberships", resource_link_id="r1")
    assert [m.user_id for m in learners] == ["s"]
    assert learners[0].roles.is_learner
    assert [m.user_id for m in on_r1] == ["t"]
    assert fake.calls[-1].query == {"resourceLinkId": "r1"}


@BOTH
def test_line_item_lifecycle_with_dates_and_resource_link(fake: FakeLtiaas, api: Any, kind: str) -> None:
    ltik = fake.launch(context_id="c", user_id="u1")
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    end = datetime(2026, 9, 8, 17, 30, tzinfo=timezone(timedelta(hours=2)))
    with scope(fake, kind, ltik):
        item = api(
            "create_line_item",
            label="Essay",
            score_maximum=20,
            resource_link_id="link-1",
            resource_id="essay",
            tag="writing",
            start_date_time=start,
            end_date_time=end,
            grades_released=True,
        )
        assert isinstance(item, LineItem)
        assert item.id
        assert (item.start_date_time, item.end_date_time) == (start, end)
        assert item.resource_link_id == "link-1"
        assert item.grades_released is True
        assert api("line_item", item.id) == item
        assert api("line_items") == [item]
        assert api("line_items", resource_link_id="link-1", tag="writing") == [item]
        assert api("line_items", tag="other") == []
        replaced = api("update_line_item", item.id, label="Essay (final)", score_maximum=25)
        assert (replaced.label, replaced.score_maximum, replaced.resource_link_id) == (
            "Essay (final)",
            25,
            None,
        )
        api("delete_line_item", item.id)
        assert api("line_items") == []
    created = json.loads(fake.calls[0].body)
    assert created == {
        "label": "Essay",
        "scoreMaximum": 20,
        "resourceLinkId": "link-1",
        "resourceId": "essay",
        "tag": "writing",
        "startDateTime": "2026-09-01T08:00:00Z",
        "endDateTime": "2026-09-08T17:30:00+02:00",
        "gradesReleased": True,
    }
    assert json.loads(fake.calls[5].body) == {"label": "Essay (final)", "scoreMaximum": 25}


@BOTH
def test_a_score_of_zero_is_a_score(fake: FakeLtiaas, api: Any, kind: str) -> None:
    ltik = fake.launch(context_id="c", user_id="u1")
    fake.launch(context_id="c", user_id="u2")
    with scope(fake, kind, ltik):
        item = api("create_line_item", label="Quiz", score_maximum=10)
        api("submit_score", item.id, user_id="u1", score_given=0, score_maximum=10, comment="try again")
        api(
            "submit_score",
            item.id,
            user_id="u2",
            score_given=7.5,
            score_maximum=10,
            activity_progress="Submitted",
        )
        results = api("results", item.id)
        mine = api("results", item.id, user_id="u1")
    sent = json.loads(fake.calls[1].body)
    assert sent["scoreGiven"] == 0
    assert sent["userId"] == "u1"
    assert (sent["activityProgress"], sent["gradingProgress"]) == ("Completed", "FullyGraded")
    assert "timestamp" not in sent  # LTIAAS stamps it
    assert {r.user_id: r.result_score for r in results} == {"u1": 0, "u2": 7.5}
    assert all(isinstance(r, Result) for r in results)
    assert [(r.user_id, r.result_score, r.comment) for r in mine] == [("u1", 0, "try again")]
    assert fake.calls[-1].query == {"userId": "u1"}


def test_bad_progress_is_refused_before_sending(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    with launch_context(fake.config(), ltik), pytest.raises(ValueError, match="Finished"):
        api("submit_score", "item", user_id="u", score_given=1, score_maximum=1, activity_progress="Finished")
    assert fake.calls == []


# --- api key only: registrations and platforms, with no context at all


@pytest.mark.parametrize("platforms_path", ["/admin/platforms", "/api/platforms"])
def test_registration_and_platforms_need_no_context(
    fake: FakeLtiaas, platforms_path: str, request: Any
) -> None:
    for mode, driver_class in DRIVERS.items():
        fake.reset()
        with driver_class(fake.config(), platforms_path=platforms_path) as api:
            registration_id = fake.new_registration()
            registration = api("registration", registration_id)
            assert registration.url == "https://lms.example.edu"
            assert registration.supported_messages[0].type == "LtiResourceLinkRequest"
            done = api("complete_registration", registration_id, platform_name="Moodle", auto_activate=True)
            assert done.platform_id
            assert done.html
            listed = api("platforms")
            assert done.platform_id in [p.id for p in listed]
            assert all(isinstance(p, Platform) for p in listed)
            assert [
                p.id for p in api("platforms", url="https://lms.example.edu", client_id=listed[0].client_id)
            ] == [listed[0].id]
            api("deactivate_platform", done.platform_id)
            assert api("platform", done.platform_id).active is False
            api("activate_platform", done.platform_id)
            assert api("platform", done.platform_id).active is True
            made = api(
                "register_platform",
                url="https://canvas.example.edu",
                client_id="10000000000001",
                name="Canvas",
                authentication_endpoint="https://canvas.example.edu/api/lti/authorize_redirect",
                accesstoken_endpoint="https://canvas.example.edu/login/oauth2/token",
                auth_config={"method": "JWK_SET", "key": "https://canvas.example.edu/api/lti/security/jwks"},
            )
            assert made.id
            assert made.public_key
            assert made.auth_config.method == "JWK_SET"
            assert api("update_platform", made.id, name="Canvas (test)").name == "Canvas (test)"
            api("delete_platform", made.id)
            assert made.id not in [p.id for p in api("platforms")]
        assert {c.authorization for c in fake.calls} == {f"Bearer {fake.api_key}"}, mode
        assert all(c.path.startswith(("/api/registrations/", platforms_path)) for c in fake.calls), mode


def test_bearer_routes_ignore_the_current_launch(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    with launch_context(fake.config(), ltik):
        api("platform", fake.platform_id)
    assert fake.calls[-1].authorization == f"Bearer {fake.api_key}"


# --- a credential of the wrong kind: refused before anything is sent

LAUNCH_ONLY_CALLS = [
    pytest.param("idtoken", (), {}, id="idtoken"),
    pytest.param("raw_idtoken", (), {}, id="raw_idtoken"),
    pytest.param("deep_linking_form", ([Link(url="https://x.example")],), {}, id="deep_linking_form"),
    pytest.param(
        "deep_linking_components", ([Link(url="https://x.example")],), {}, id="deep_linking_components"
    ),
]
LAUNCH_OR_SERVICE_CALLS = [
    pytest.param("memberships", (), {}, id="memberships"),
    pytest.param("line_items", (), {}, id="line_items"),
    pytest.param("create_line_item", (), {"label": "x", "score_maximum": 1}, id="create_line_item"),
    pytest.param("line_item", ("i",), {}, id="line_item"),
    pytest.param("update_line_item", ("i",), {"label": "x", "score_maximum": 1}, id="update_line_item"),
    pytest.param("delete_line_item", ("i",), {}, id="delete_line_item"),
    pytest.param("submit_score", ("i",), {"user_id": "u"}, id="submit_score"),
    pytest.param("results", ("i",), {}, id="results"),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), LAUNCH_ONLY_CALLS)
@pytest.mark.parametrize("context", ["service", "api-key", "none"])
def test_launch_only_calls_refuse_other_credentials(
    fake: FakeLtiaas, api: Any, name, args, kwargs, context
) -> None:
    ltik = fake.launch()
    key = fake.service_key_for(ltik)
    assert key is not None
    scopes = {
        "service": service_context(fake.config(), key),
        "api-key": api_key_context(fake.config()),
        "none": contextlib.nullcontext(),
    }
    fake.reset()
    with scopes[context], pytest.raises(NoLaunchContext) as caught:
        api(name, *args, **kwargs)
    assert "LTIK-AUTH-V2" in caught.value.description
    assert "SERVICE-AUTH-V1" not in caught.value.description.split(";")[0]
    assert fake.calls == []


@pytest.mark.parametrize(("name", "args", "kwargs"), LAUNCH_OR_SERVICE_CALLS)
@pytest.mark.parametrize("context", ["api-key", "none"])
def test_launch_or_service_calls_refuse_other_credentials(
    fake: FakeLtiaas, api: Any, name, args, kwargs, context
) -> None:
    scopes = {"api-key": api_key_context(fake.config()), "none": contextlib.nullcontext()}
    with scopes[context], pytest.raises(NoLaunchContext) as caught:
        api(name, *args, **kwargs)
    first = caught.value.description.split(";")[0]
    assert "LTIK-AUTH-V2" in first
    assert "SERVICE-AUTH-V1" in first
    assert fake.calls == []


def test_a_credential_of_another_account_is_refused_before_sending(fake: FakeLtiaas, api: Any) -> None:
    ltik = fake.launch()
    other = LtiaasConfig("another-account-key", fake.url)
    with launch_context(other, ltik), pytest.raises(ForeignOriginError):
        api("memberships")
    assert fake.calls == []


# --- the clients themselves


def test_from_env(fake: FakeLtiaas, monkeypatch: pytest.MonkeyPatch) -> None:
    from ltiaas_auth.api import AsyncLtiaasClient, LtiaasClient

    monkeypatch.setenv("LTIAAS_API_KEY", fake.api_key)
    monkeypatch.setenv("LTIAAS_URL", fake.url)
    with LtiaasClient.from_env(max_retries=0) as client:
        assert client.config == fake.config()
        assert client.retry.max_retries == 0
        assert fake.api_key not in repr(client)
    assert AsyncLtiaasClient.from_env().config == fake.config()


def test_an_injected_http_client_is_used_and_never_closed(fake: FakeLtiaas) -> None:
    import httpx

    from ltiaas_auth.api import LtiaasClient

    seen: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]}) as http:
        with LtiaasClient(fake.config(), http=http) as client:
            client.platform(fake.platform_id)
        assert not http.is_closed
        assert seen == [f"/admin/platforms/{fake.platform_id}"]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"max_retries": -1}, id="negative-retries"),
        pytest.param({"max_retries": True}, id="bool-retries"),
        pytest.param({"max_retry_wait": float("inf")}, id="infinite-wait"),
        pytest.param({"platforms_path": "admin/platforms"}, id="relative-path"),
        pytest.param({"platforms_path": "/admin/../x"}, id="dot-segment"),
        pytest.param({"platforms_path": "/admin//platforms"}, id="double-slash"),
    ],
)
def test_bad_options(fake: FakeLtiaas, options: dict[str, Any]) -> None:
    from ltiaas_auth.api import LtiaasClient

    with pytest.raises(ValueError):
        LtiaasClient(fake.config(), **options)


def test_bad_timeout_is_refused(fake: FakeLtiaas, api: Any) -> None:
    with api_key_context(fake.config()), pytest.raises(ValueError, match="timeout"):
        api("platform", "x", timeout=0)
    assert fake.calls == []
