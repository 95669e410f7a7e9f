"""Suite-wide settings: a small hypothesis profile under CI (``CI=true``), the default one elsewhere.

Tests that set ``@settings(max_examples=…)`` themselves keep their own number; the profile only bounds
the others and turns off the deadline, which a loaded two-core CI machine would trip without cause.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from ltiaas_auth.context import credential_var

settings.register_profile(
    "ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _no_credential_left_behind() -> Iterator[None]:
    """Every test starts and ends with no current credential on its thread.

    The WSGI middleware keeps a launch current until the server closes the response, as PEP 3333 asks; a
    test that never closes one (a werkzeug test ``Client`` response left open, say) would hand its launch
    to the tests after it. This fails that test at teardown, and clears the credential for the rest.
    """
    leaked_before = credential_var.get()
    if leaked_before is not None:
        credential_var.set(None)
    yield
    leaked = credential_var.get()
    if leaked is not None:
        credential_var.set(None)
        pytest.fail(f"the test left a credential set ({leaked!r}): close every WSGI response it opens")


@pytest.fixture
def buffered_flask_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flask test clients that read and close every response, as a server does (``buffered=True``), so the
    launch a response keeps current until it is closed never outlives the request in a test."""
    import flask
    from flask.testing import FlaskClient

    class BufferedClient(FlaskClient):
        def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> Any:
            return super().open(*args, buffered=buffered, **kwargs)

    monkeypatch.setattr(flask.Flask, "test_client_class", BufferedClient)
