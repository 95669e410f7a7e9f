"""The same project under pytest-django's fixtures (``client``, ``async_client``, ``settings``,
``mailoutbox``, ``rf``); ``manage.py test`` collects nothing here (no ``TestCase``)."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from ltiaas_auth import parse_ltik
from ltiaas_auth.context import credential_var
from ltiaas_auth.testing import FakeLtiaas

from .support import ltiaas_settings


def test_sync_view(client: Client, ltiaas: FakeLtiaas) -> None:
    ltik = ltiaas.launch(user_id="ada")
    response = client.get("/whoami", headers={"Authorization": f"Bearer {ltik}"})
    assert response.json() == {"ltik": parse_ltik(ltik).fingerprint, "user": "ada"}
    assert credential_var.get() is None


@pytest.mark.anyio
async def test_async_view(async_client: object, ltiaas: FakeLtiaas) -> None:
    ltik = ltiaas.launch(user_id="grace")
    response = await async_client.get("/awhoami", headers={"X-Ltik": ltik})  # type: ignore[attr-defined]
    assert response.json()["user"] == "grace"


def test_stream_reads_the_launch_while_consumed(client: Client, ltiaas: FakeLtiaas) -> None:
    ltik = ltiaas.launch()
    fingerprint = parse_ltik(ltik).fingerprint
    response = client.get("/stream", headers={"X-Ltik": ltik})
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.decode().splitlines() == [f"{n} {fingerprint}" for n in range(3)]
    assert credential_var.get() is None


def test_ltik_exempt(client: Client, ltiaas: FakeLtiaas) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/whoami").status_code == 401


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        pytest.param(["Learner"], 403, id="learner-refused"),
        pytest.param(["Instructor"], 200, id="instructor"),
        pytest.param(["Learner", "Instructor"], 200, id="any-of"),
    ],
)
def test_role_gate(client: Client, ltiaas: FakeLtiaas, roles: list[str], status: int) -> None:
    response = client.get("/grades", headers={"X-Ltik": ltiaas.launch(roles=roles)})
    assert response.status_code == status


def test_settings_fixture_override(client: Client, ltiaas: FakeLtiaas, settings: SettingsWrapper) -> None:
    ltik = ltiaas.launch()
    with FakeLtiaas() as other:
        settings.LTIAAS = ltiaas_settings(other)
        assert client.get("/whoami", headers={"X-Ltik": ltik}).status_code == 401
    settings.LTIAAS = ltiaas_settings(ltiaas)
    assert client.get("/whoami", headers={"X-Ltik": ltik}).status_code == 200


def test_csrf_enforced(ltiaas: FakeLtiaas) -> None:
    client = Client(enforce_csrf_checks=True)
    ltik = ltiaas.launch()
    assert client.post("/feedback", {"text": "hi"}).status_code == 403
    assert client.post("/feedback", {"text": "hi", "ltik": ltik}).status_code == 200


def test_admin_mail_holds_no_ltik(ltiaas: FakeLtiaas, mailoutbox: list[object]) -> None:
    ltik = ltiaas.launch()
    response = Client(raise_request_exception=False).get("/boom", {"ltik": ltik}, headers={"X-Ltik": ltik})
    assert response.status_code == 500
    (message,) = mailoutbox
    assert "RuntimeError" in message.body  # type: ignore[attr-defined]
    assert ltik not in message.body  # type: ignore[attr-defined]


def test_drf_api_client(ltiaas: FakeLtiaas) -> None:
    ltik = ltiaas.launch(user_id="ada")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ltik}")
    assert client.get("/api/me").json()["user"] == "ada"


def test_drf_without_a_launch_is_drfs_401(ltiaas: FakeLtiaas, settings: SettingsWrapper) -> None:
    settings.LTIAAS = ltiaas_settings(ltiaas, REQUIRE=False)
    response = APIClient().get("/api/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
