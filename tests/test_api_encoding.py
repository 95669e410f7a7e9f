"""What goes on the wire, read back from what FakeLtiaas recorded: ids percent-encoded with nothing safe,
no doubled slash, query values encoded once, ``raw=true``, no ``null``, camelCase keys; and, over
hypothesis' ids, no id ever leaves its route."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltiaas_auth import LtiaasConfig, NotFound, api_key_context, launch_context
from ltiaas_auth.api import Html, LtiaasClient
from ltiaas_auth.api import _endpoints as ops
from ltiaas_auth.api._request import build, credential_for
from ltiaas_auth.testing import FakeLtiaas

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as started:
        yield started


@pytest.fixture(scope="module")
def client(fake: FakeLtiaas) -> Iterator[LtiaasClient]:
    with LtiaasClient(fake.config(), max_retries=0) as started:
        yield started


def _no_nulls(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_what_the_fake_recorded(fake: FakeLtiaas, client: LtiaasClient) -> None:
    fake.reset()
    ltik = fake.launch(context_id="enc course/1", user_id="u", roles=["Instructor"])
    for n in range(3):
        fake.launch(context_id="enc course/1", user_id=f"l{n}", roles=["Learner"])
    with launch_context(fake.config(), ltik):
        client.raw_idtoken()
        members = list(client.memberships(role=MEMBERSHIP, limit=2))
        item = client.create_line_item(label="Quiz & co", score_maximum=10, resource_link_id="r/1?x=1")
        client.submit_score(item.id, user_id="l0", score_given=0, score_maximum=10)
        list(client.results(item.id, user_id="a b&c=d"))
        client.deep_linking_form([Html(html="<p/>")])
    assert [m.user_id for m in members] == ["l0", "l1", "l2"]
    calls = fake.calls
    assert calls[0].query == {"raw": "true"}
    # the role URI (with its '#') and the LMS's next link arrive decoded exactly once
    assert calls[1].query == {"role": MEMBERSHIP, "limit": "2"}
    pages = [c for c in calls if c.path == "/api/memberships"][1:]
    assert pages
    assert all(
        c.query["url"].startswith("https://lms.example.edu/api/lti/courses/enc%20course%2F1/") for c in pages
    )
    # the line item id (a URL with '/', '?', '=') is one segment, encoded with nothing left safe
    encoded = quote(item.id, safe="")
    assert "%2F" in encoded
    assert "%3F" in encoded
    assert [c.path for c in calls if c.method == "POST" and c.path.endswith("/scores")] == [
        f"/api/lineitems/{encoded}/scores"
    ]
    assert calls[-2].query == {"userId": "a b&c=d"}
    for call in calls:
        assert "//" not in call.path
        if call.body:
            body = json.loads(call.body)
            assert _no_nulls(body)
            assert all(re.fullmatch(r"[a-z][A-Za-z]*", key) for key in _keys(body))
    assert json.loads(calls[3].body) == {
        "label": "Quiz & co",
        "scoreMaximum": 10,
        "resourceLinkId": "r/1?x=1",
    }


PATH_IDS = st.text(min_size=1, max_size=40).filter(lambda s: s not in (".", ".."))
TRICKY = [
    "../platforms/x/deactivate?x=",
    "../../api/idtoken",
    "a/b",
    "%2e%2e",
    "x?raw=true",
    "x#frag",
    "id with spaces",
    "ünï/cödé",
    "\r\nX-Injected: 1",
]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.sampled_from(TRICKY), PATH_IDS))
def test_a_path_id_stays_inside_its_route(fake: FakeLtiaas, client: LtiaasClient, id: str) -> None:
    try:
        id.encode()
    except UnicodeEncodeError:
        with api_key_context(fake.config()), pytest.raises(ValueError, match="Unicode"):
            client.platform(id)
        return
    before = len(fake.calls)
    with pytest.raises(NotFound):
        client.platform(id)  # with the API key: an escape would reach another admin route
    with pytest.raises(NotFound), launch_context(fake.config(), fake.launch()):
        client.line_item(id)
    platform_call, line_item_call = fake.calls[before:]
    for call, route in ((platform_call, "/admin/platforms/"), (line_item_call, "/api/lineitems/")):
        assert call.path == route + quote(id, safe="")
        assert call.path.count("/") == route.count("/")
        assert unquote(call.path[len(route) :]) == id
        assert call.query == {}


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_ids_that_cannot_be_a_segment_are_refused(fake: FakeLtiaas, client: LtiaasClient, bad: str) -> None:
    before = len(fake.calls)
    with pytest.raises(ValueError, match="id"):
        client.platform(bad)
    assert len(fake.calls) == before


CONFIG = LtiaasConfig("key_0123456789", "https://tenant.ltiaas.com")


@pytest.mark.parametrize(
    ("call", "platforms_path", "url"),
    [
        pytest.param(ops.raw_idtoken(), "/admin/platforms", "/api/idtoken?raw=true", id="raw-true"),
        pytest.param(
            ops.memberships(role="Learner", limit=10),
            "/admin/platforms",
            "/api/memberships?role=Learner&limit=10",
            id="memberships",
        ),
        pytest.param(ops.memberships(), "/admin/platforms", "/api/memberships", id="unset-omitted"),
        pytest.param(
            ops.line_item("https://lms/a/b?x=1&y=2"),
            "/admin/platforms",
            "/api/lineitems/https%3A%2F%2Flms%2Fa%2Fb%3Fx%3D1%26y%3D2",
            id="line-item-id",
        ),
        pytest.param(
            ops.results("i", user_id="u+1 2", limit=5),
            "/admin/platforms",
            "/api/lineitems/i/scores?userId=u%2B1%202&limit=5",
            id="results",
        ),
        pytest.param(
            ops.platforms(url="https://lms"),
            "/api/platforms",
            "/api/platforms?url=https%3A%2F%2Flms",
            id="node-path",
        ),
        pytest.param(
            ops.activate_platform("../x"),
            "/admin/platforms",
            "/admin/platforms/..%2Fx/activate",
            id="activate",
        ),
    ],
)
def test_build(call: ops.Call[Any], platforms_path: str, url: str) -> None:
    with api_key_context(CONFIG):
        credential = credential_for(ops.PLATFORM, CONFIG)
        request = build(call, CONFIG, credential, platforms_path=platforms_path)
    assert request.url == "https://tenant.ltiaas.com" + url
    assert "key_0123456789" not in repr(request)


def test_build_sends_a_next_link_back_as_url_alone() -> None:
    credential = credential_for(ops.PLATFORM, CONFIG)
    link = "https://lms.example.edu/api/names_and_roles?page=2&limit=10"
    request = build(
        ops.memberships(role="Learner", limit=10), CONFIG, credential, platforms_path="/x", next_url=link
    )
    assert request.url == "https://tenant.ltiaas.com/api/memberships?url=" + quote(link, safe="")


def test_booleans_are_true_and_false() -> None:
    call = ops.complete_registration("r", auto_activate=False)
    assert call.body == {"autoActivate": False}
    item = ops.create_line_item(label="x", score_maximum=1, grades_released=False)
    assert item.body == {"label": "x", "scoreMaximum": 1, "gradesReleased": False}


def test_nan_and_naive_datetimes_are_refused_before_sending() -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match="timezone-aware"):
        ops.create_line_item(label="x", score_maximum=1, start_date_time=datetime(2026, 1, 1))
    credential = credential_for(ops.PLATFORM, CONFIG)
    with pytest.raises(ValueError):
        build(
            ops.submit_score("i", user_id="u", score_given=float("nan")),
            CONFIG,
            credential,
            platforms_path="/x",
        )


TEXT = st.text(max_size=60).filter(
    lambda s: s.encode("utf-8", "surrogatepass") == s.encode("utf-8", "ignore")
)


@given(TEXT.filter(bool), TEXT)
def test_query_values_are_encoded_exactly_once(role: str, user_id: str) -> None:
    from urllib.parse import parse_qs, urlsplit

    credential = credential_for(ops.PLATFORM, CONFIG)
    for call, expected in (
        (ops.memberships(role=role, limit=3), {"role": [role], "limit": ["3"]}),
        (ops.results("item", user_id=user_id or None), {"userId": [user_id]} if user_id else {}),
    ):
        url = build(call, CONFIG, credential, platforms_path="/x").url
        assert parse_qs(urlsplit(url).query, keep_blank_values=True) == expected


@given(TEXT.filter(lambda s: s not in ("", ".", "..")))
def test_a_path_id_is_one_segment(id: str) -> None:
    credential = credential_for(ops.PLATFORM, CONFIG)
    path = build(ops.results(id), CONFIG, credential, platforms_path="/x").path
    prefix, segment, suffix = path.split("/")[1:3], path.split("/")[3], path.split("/")[4:]
    assert (prefix, suffix) == (["api", "lineitems"], ["scores"])
    assert unquote(segment) == id
    assert "?" not in path
    assert "#" not in path
