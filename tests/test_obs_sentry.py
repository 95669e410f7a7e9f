"""Sentry: a failing launch request, captured by the real SDK in an in-memory transport, holds no credential.

The app is a real Flask app behind ``LtiaasMiddleware`` (form source on), instrumented by the SDK's Flask
integration; the request carries its ltik in the query, ``Authorization``, ``X-Ltik`` and a form field; the
view logs the idtoken (a breadcrumb with the service key) and fails with the launch's ``Authorization`` value
in its message and in a local variable. Every envelope the SDK would send is searched, as bytes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from flask import Flask
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.transport import Transport
from werkzeug.test import Client

from ltiaas_auth import LtiaasMiddleware, auth_header, current_launch
from ltiaas_auth.sentry import (
    DATA_COLLECTION_TERMS,
    DENYLIST,
    SentryRedaction,
    before_breadcrumb,
    before_send,
    data_collection,
)
from ltiaas_auth.testing import FakeLtiaas

log = logging.getLogger("test_obs_sentry.app")
log.setLevel(logging.INFO)


class MemoryTransport(Transport):
    """Keeps every envelope instead of sending it."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def sent(self) -> str:
        return b"".join(envelope.serialize() for envelope in self.envelopes).decode()


def make_app(fake: FakeLtiaas) -> Flask:
    app = Flask(__name__)

    @app.post("/grades/<item>")
    def grade(item: str) -> str:
        launch = current_launch()
        log.info("idtoken %s", launch.idtoken())  # a breadcrumb with the service key in it
        header = auth_header()  # a local variable the SDK records with the frame
        raise RuntimeError(f"grade passback failed for {item} with {header}")

    app.wsgi_app = LtiaasMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, fake.config(), sources=("authorization", "query", "header", "form")
    )
    return app


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def run(fake: FakeLtiaas, options: dict[str, Any]) -> tuple[MemoryTransport, str, str]:
    """One failing request through the app, Sentry set up with ``options``: (transport, ltik, service key)."""
    transport = MemoryTransport()
    sentry_sdk.init(
        dsn="https://public@sentry.invalid/1",
        transport=transport,
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[FlaskIntegration(), LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        **options,
    )
    try:
        ltik = fake.launch()
        client = Client(make_app(fake))
        with client.post(  # closed, as a server closes every response (the middleware resets then)
            f"/grades/item-7?ltik={ltik}&page=2",
            headers={"Authorization": f"Bearer {ltik}", "X-Ltik": ltik},
            data={"ltik": ltik, "score": "0.9"},
        ) as response:
            assert response.status_code == 500
        sentry_sdk.flush()
    finally:
        # No DSN and no integrations: the SDK is off again for the other tests.
        sentry_sdk.init(default_integrations=False, auto_enabling_integrations=False)
    service_key = fake.service_key_for(ltik)
    assert service_key
    return transport, ltik, service_key


@pytest.mark.parametrize(
    ("options", "data"),
    [
        pytest.param({}, None, id="sdk-defaults"),
        pytest.param(
            {"send_default_pii": True},
            None,
            id="send_default_pii",
            marks=pytest.mark.filterwarnings("ignore:The send_default_pii option is deprecated"),
        ),
        pytest.param({}, {}, id="data_collection"),
        pytest.param({}, {"http_headers": {"request": {"mode": "denylist"}}}, id="data_collection-headers"),
    ],
)
def test_a_failing_launch_request_reaches_sentry_without_credentials(
    fake: FakeLtiaas, options: dict[str, Any], data: dict[str, Any] | None
) -> None:
    hooks = SentryRedaction(fake.config())
    transport, ltik, service_key = run(fake, {**options, **hooks.options(data_collection=data)})
    sent = transport.sent()
    assert ltik not in sent
    assert fake.api_key not in sent
    assert service_key not in sent
    assert ltik.split(".")[1] not in sent  # not even the ltik's payload on its own
    # ... and what the report is for is still there.
    assert "/grades/item-7" in sent
    assert "RuntimeError" in sent
    assert "grade passback failed for item-7 with LTIK-AUTH-V2 ***" in sent
    assert "score" in sent
    events = [item.payload.json for envelope in transport.envelopes for item in envelope.items]
    error = next(event for event in events if event is not None and event.get("exception"))
    crumbs = error["breadcrumbs"]["values"]
    assert any(crumb.get("message", "").startswith("idtoken {") for crumb in crumbs)


def test_without_the_hooks_the_sdk_sends_the_credentials(fake: FakeLtiaas) -> None:
    """The test above can fail: the same request, reported by the bare SDK, leaks."""
    transport, ltik, service_key = run(fake, {})
    sent = transport.sent()
    assert ltik in sent
    assert fake.api_key in sent
    assert service_key in sent


def test_the_denylist_extends_the_sdk_defaults() -> None:
    from sentry_sdk.scrubber import DEFAULT_DENYLIST

    assert DENYLIST[: len(DEFAULT_DENYLIST)] == DEFAULT_DENYLIST
    assert {"ltik", "x-ltik", "servicekey"} <= set(DENYLIST)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            None,
            {
                "cookies": {"mode": "denylist", "terms": ["ltik"]},
                "url_query_params": {"mode": "denylist", "terms": ["ltik"]},
                "http_headers": {"request": {"mode": "denylist", "terms": ["ltik"]}},
            },
            id="empty",
        ),
        pytest.param(
            {"url_query_params": {"mode": "denylist", "terms": ["code"]}, "user_info": False},
            {
                "cookies": {"mode": "denylist", "terms": ["ltik"]},
                "url_query_params": {"mode": "denylist", "terms": ["code", "ltik"]},
                "http_headers": {"request": {"mode": "denylist", "terms": ["ltik"]}},
                "user_info": False,
            },
            id="terms-kept",
        ),
        pytest.param(
            {
                "cookies": {"mode": "off"},
                "http_headers": {"request": {"mode": "allowlist", "terms": ["accept"]}},
            },
            {
                "cookies": {"mode": "off"},
                "url_query_params": {"mode": "denylist", "terms": ["ltik"]},
                "http_headers": {"request": {"mode": "allowlist", "terms": ["accept"]}},
            },
            id="allowlist-and-off-kept",
        ),
    ],
)
def test_data_collection_adds_ltik_to_the_deny_lists(
    given: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    assert DATA_COLLECTION_TERMS == ("ltik",)
    assert data_collection(given) == expected


def test_the_module_hooks_mask_by_shape_and_copy() -> None:
    event = {"request": {"query_string": "ltik=opaque&page=2", "headers": {"X-Ltik": "opaque"}}}
    assert before_send(event, {}) == {
        "request": {"query_string": "ltik=***&page=2", "headers": {"X-Ltik": "***"}}
    }
    assert event["request"]["headers"] == {"X-Ltik": "opaque"}
    crumb = {"category": "httplib", "data": {"url": "https://tool.example/x?%6Ctik=opaque"}}
    assert before_breadcrumb(crumb, {}) == {
        "category": "httplib",
        "data": {"url": "https://tool.example/x?%6Ctik=***"},
    }


def test_from_env_masks_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTIAAS_API_KEY", "key-0123456789abcdefghij")
    hooks = SentryRedaction.from_env()
    assert hooks.before_send({"extra": {"note": "sent key-0123456789abcdefghij"}}, {}) == {
        "extra": {"note": "sent ***"}
    }
    assert json.dumps(hooks.options(), default=str)  # plain keyword arguments for sentry_sdk.init
