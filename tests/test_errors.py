"""The error tree: codes, statuses, LTIAAS-shaped bodies, and texts that never carry a secret."""

from __future__ import annotations

import pytest

from ltiaas_auth import (
    AmbiguousLtik,
    ExpiredLtik,
    ForeignOriginError,
    InvalidCredential,
    InvalidLtik,
    LtiaasAuthError,
    MissingLtik,
    NoLaunchContext,
    UpstreamError,
)


@pytest.mark.parametrize(
    ("cls", "code", "status", "bases"),
    [
        (MissingLtik, "MISSING_LTIK", 401, (LtiaasAuthError,)),
        (InvalidLtik, "INVALID_LTIK", 401, (LtiaasAuthError,)),
        (ExpiredLtik, "LTIK_EXPIRED", 401, (InvalidLtik,)),
        (AmbiguousLtik, "AMBIGUOUS_LTIK", 400, (LtiaasAuthError,)),
        (NoLaunchContext, "NO_LAUNCH_CONTEXT", 500, (LtiaasAuthError,)),
        (InvalidCredential, "INVALID_CREDENTIAL", 500, (LtiaasAuthError, ValueError)),
        (ForeignOriginError, "FOREIGN_ORIGIN", 500, (LtiaasAuthError,)),
        (UpstreamError, "UPSTREAM_UNAVAILABLE", 502, (LtiaasAuthError,)),
    ],
)
def test_the_table(cls, code, status, bases):
    error = cls()
    assert (error.code, error.status) == (code, status)
    assert isinstance(error.description, str)
    assert error.description
    for base in bases:
        assert isinstance(error, base)
    assert error.to_body()["details"]["message"] == code
    assert error.to_body()["status"] == status


def test_body_is_ltiaas_shaped():
    assert ExpiredLtik().to_body() == {
        "status": 401,
        "error": "Unauthorized",
        "details": {"message": "LTIK_EXPIRED", "description": ExpiredLtik.default_description},
    }
    assert AmbiguousLtik("two").to_body()["error"] == "Bad Request"


def test_upstream_error_takes_ltiaas_code_and_keeps_status_and_body():
    body = {
        "status": 401,
        "error": "Unauthorized",
        "details": {"message": "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER", "description": "Invalid API key"},
    }
    error = UpstreamError("Invalid API key", upstream_status=401, body=body)
    assert error.code == "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
    assert error.status == 502
    assert error.upstream_status == 401
    assert error.body == body
    unreachable = UpstreamError()
    assert (unreachable.code, unreachable.upstream_status, unreachable.body) == (
        "UPSTREAM_UNAVAILABLE",
        None,
        None,
    )
    assert "401" in repr(error)


@pytest.mark.parametrize(
    "body", [{"details": "x"}, {"details": {"message": 5}}, {"details": {"message": ""}}]
)
def test_upstream_error_ignores_odd_bodies(body):
    assert UpstreamError(body=body).code == "UPSTREAM_UNAVAILABLE"
