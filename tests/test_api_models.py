"""The API models: round trips over hypothesis (``from_json(to_json(x)) == x``, through real JSON), unknown
fields kept both ways, unset fields never sent, immutability, and no service key in a repr."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltiaas_auth.api import models
from ltiaas_auth.api._wire import WireModel, _fields
from ltiaas_auth.roles import Roles

ROLE_VALUES = st.sampled_from(
    [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",
        "Learner",
        "urn:lti:role:ims/lis/Mentor",
    ]
)
JSON = st.recursive(
    st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])


def strategy(hint: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type, derived from the same type hints the codec reads."""
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        return st.one_of(
            *(strategy(arg) if arg is not type(None) else st.none() for arg in typing.get_args(hint))
        )
    if origin is tuple:
        return st.lists(strategy(typing.get_args(hint)[0]), max_size=3).map(tuple)
    if origin is Mapping or hint is Mapping:
        return st.dictionaries(st.text(max_size=5), JSON, max_size=3)
    simple = {
        str: st.text(max_size=12),
        int: st.integers(0, 10**6),
        float: st.integers(0, 1000) | st.floats(0, 1e6, allow_nan=False),
        bool: st.booleans(),
        datetime: st.datetimes(timezones=ZONES),
        Roles: st.lists(ROLE_VALUES, max_size=3).map(lambda values: Roles(tuple(values))),
    }
    if hint in simple:
        return simple[hint]
    return model_strategy(hint)


_STRATEGIES: dict[type[WireModel], st.SearchStrategy[Any]] = {}


def model_strategy(cls: type[WireModel]) -> st.SearchStrategy[Any]:
    found = _STRATEGIES.get(cls)
    if found is None:
        found = _STRATEGIES[cls] = st.deferred(lambda: _build(cls))
    return found


def _build(cls: type[WireModel]) -> st.SearchStrategy[Any]:
    fields = _fields(cls)
    known = {wire for _, wire, _ in fields} | {"type"}
    extra = st.dictionaries(
        st.text(min_size=1, max_size=6).map(lambda key: "zz" + key).filter(lambda key: key not in known),
        JSON,
        max_size=2,
    )
    kwargs = {name: strategy(hint) for name, _wire, hint in fields}
    return st.builds(cls, **kwargs, extra=extra)


MODELS = [
    cls
    for cls in vars(models).values()
    if isinstance(cls, type) and issubclass(cls, WireModel) and cls is not models.ContentItem
]


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=25)
@given(data=st.data())
def test_round_trip_through_json(cls: type[WireModel], data: st.DataObject) -> None:
    value = data.draw(model_strategy(cls))
    wire = json.loads(json.dumps(value.to_json()))
    parse = models.ContentItem.from_wire if issubclass(cls, models.ContentItem) else cls.from_json
    assert parse(wire) == value
    assert wire == parse(wire).to_json()
    assert dict(parse(wire).extra) == dict(value.extra)
    assert None not in _leaves(wire)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def test_unknown_fields_are_kept_both_ways() -> None:
    wire = {
        "id": "https://lms/item/1",
        "label": "Quiz",
        "scoreMaximum": 10,
        "submissionReview": {"reviewableStatus": ["Submitted"]},
        "gradesReleased": "sometimes",  # not a boolean: kept as sent, never guessed at
    }
    item = models.LineItem.from_json(wire)
    assert item.grades_released is None
    assert dict(item.extra) == {
        "submissionReview": {"reviewableStatus": ["Submitted"]},
        "gradesReleased": "sometimes",
    }
    assert item.to_json() == wire


def test_unset_is_never_sent_and_zero_is_a_score() -> None:
    score = models.Score(
        user_id="u", activity_progress="Completed", grading_progress="FullyGraded", score_given=0
    )
    assert score.to_json() == {
        "userId": "u",
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "scoreGiven": 0,
    }
    assert models.Result.from_json({"userId": "u", "resultScore": 0}).result_score == 0
    assert models.LineItem.from_json({"label": "x", "scoreMaximum": 1, "tag": None}).to_json() == {
        "label": "x",
        "scoreMaximum": 1,
    }


def test_models_are_immutable() -> None:
    item = models.LineItem(label="x", score_maximum=1, extra={"a": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.label = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        item.extra["a"] = 2  # type: ignore[index]


def test_required_fields_are_required() -> None:
    with pytest.raises(ValueError, match="LineItem"):
        models.LineItem.from_json({"label": "no maximum"})
    with pytest.raises(ValueError, match="content item type"):
        models.ContentItem.from_wire({"type": "video"})


def test_enums_take_the_lti_strings() -> None:
    assert models.ActivityProgress("Completed") is models.ActivityProgress.COMPLETED
    assert models.GradingProgress("FullyGraded") == "FullyGraded"
    with pytest.raises(ValueError):
        models.GradingProgress("Done")


def test_idtoken_model(fake_idtoken: dict[str, Any]) -> None:
    token = models.IdToken.from_json(fake_idtoken)
    assert token.raw is fake_idtoken
    assert token.user.roles.is_instructor
    assert token.platform is not None
    assert token.platform.client_id == "fake-ltiaas-client"
    assert token.launch is not None
    assert token.launch.resource_link is not None
    assert token.services is not None
    assert token.services.assignment_and_grades is not None
    assert token.services.assignment_and_grades.available
    assert token.service_key == fake_idtoken["services"]["serviceKey"]
    assert token.service_key not in repr(token)
    assert token.to_json() == fake_idtoken


@pytest.fixture
def fake_idtoken() -> dict[str, Any]:
    from ltiaas_auth.testing import FakeLtiaas

    fake = FakeLtiaas()
    return fake.idtoken_for(fake.launch(roles=["Instructor"]))
