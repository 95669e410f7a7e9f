"""A user's test: pytest, the stdlib and the installed plugin's ``fake_ltiaas`` fixture, and no conftest."""

import json
import urllib.request


def test_idtoken_names_the_launched_user(fake_ltiaas):
    ltik = fake_ltiaas.launch(user_id="plugin-user", roles=["Instructor"])
    request = urllib.request.Request(  # noqa: S310 - the fake's own http://127.0.0.1 URL
        f"{fake_ltiaas.url}/api/idtoken",
        headers={"Authorization": f"LTIK-AUTH-V2 {fake_ltiaas.api_key}:{ltik}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - same loopback URL
        idtoken = json.load(response)
    assert idtoken["user"]["id"] == "plugin-user"
    assert idtoken["user"]["roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]


def test_the_session_fake_is_shared(fake_ltiaas_session, request):
    assert request.getfixturevalue("fake_ltiaas_session") is fake_ltiaas_session
    with urllib.request.urlopen(f"{fake_ltiaas_session.url}/", timeout=5) as response:  # noqa: S310 - loopback
        assert b"FakeLtiaas" in response.read()
