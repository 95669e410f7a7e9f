"""``ltiaas-auth demo``: the scripted launch, its output (no key, no whole ltik), and the demo tool's routes.

The routes are exercised through werkzeug's test client against a real FakeLtiaas, with the middleware in
front as the demo runs it.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from werkzeug.test import Client, TestResponse

from ltiaas_auth.cli import EXIT_MISSING_DEPENDENCY, EXIT_USAGE, main
from ltiaas_auth.demo import runner
from ltiaas_auth.demo.app import create_app
from ltiaas_auth.demo.runner import Report, ToolServer, run, scripted_launch
from ltiaas_auth.redact import RedactingFilter
from ltiaas_auth.testing import FakeLtiaas

JWS = re.compile(r"[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")
LONG_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")
STEPS = (
    "1. Three people launch the tool",
    "2. LTIAAS redirects Ada Lovelace's browser",
    "3. The page's script calls the tool's own API",
    "4. What LTIAAS received",
    "5. Requests the middleware refuses",
)
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def secrets_of(fake: FakeLtiaas) -> set[str]:
    """The API key, and every ltik and service key the fake minted."""
    found = {fake.api_key}
    with fake._state.lock:
        for ltik, launch in fake._state.launches.items():
            found.add(ltik)
            if launch.service_key:
                found.add(launch.service_key)
    return found


def get(url: str) -> tuple[int, str]:
    with DIRECT.open(url, timeout=5) as response:
        return response.status, response.read().decode()


# --- the command


def test_demo_check_as_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "ltiaas_auth", "demo", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    out = result.stdout
    for step in STEPS:
        assert step in out
    for text in ("GET  /api/idtoken", "GET  /api/memberships", "/scores", "config.cache_info()"):
        assert text in out
    assert "FakeLtiaas recorded 1 GET /api/idtoken" in out
    assert "[FAIL]" not in out
    assert out.rstrip().endswith("All 13 checks passed.")
    assert "api_key='***'" in out
    assert JWS.search(out) is None
    assert LONG_TOKEN.search(out) is None


def test_the_scripted_launch_prints_no_secret_of_the_fake(fake_ltiaas):
    out = io.StringIO()
    report = Report(out, RedactingFilter())  # no key given: the output must be clean on its own
    config = fake_ltiaas.config()
    with ToolServer(create_app(config)) as tool:
        scripted_launch(report, fake_ltiaas, config, tool.url)
    assert (report.checks, report.failures) == (13, 0), out.getvalue()
    text = out.getvalue()
    assert "***" not in text  # nothing needed masking
    for secret in secrets_of(fake_ltiaas):
        assert secret not in text
        assert secret.rsplit(".", 1)[-1] not in text


def test_a_failing_step_is_reported_and_fails_the_check(fake_ltiaas):
    out = io.StringIO()
    report = Report(out, RedactingFilter())
    config = fake_ltiaas.config()
    with ToolServer(create_app(config)) as tool:
        fake_ltiaas.fail_next(503, count=50)  # LTIAAS is down for the whole launch
        scripted_launch(report, fake_ltiaas, config, tool.url)
    assert report.failures > 0
    text = out.getvalue()
    assert "[FAIL] GET /api/roster -> 502: UPSTREAM_UNAVAILABLE" in text
    assert "[FAIL] the idtoken was fetched once" in text


def test_run_reports_a_step_that_broke_and_exits_1(monkeypatch):
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(runner, "scripted_launch", broken)
    out, err = io.StringIO(), io.StringIO()
    assert run(check=True, out=out, err=err) == 1
    assert "[FAIL] the scripted launch stopped: RuntimeError: boom" in out.getvalue()
    assert "1 of 1 checks FAILED." in out.getvalue()


def test_interactive_demo_prints_one_clickable_launch_and_a_masked_request_log():
    out, err = io.StringIO(), io.StringIO()
    seen: dict[str, Any] = {}

    def browse() -> None:
        link = re.search(r"^  (http://127\.0\.0\.1:\d+/launch\?ltik=\S+)$", out.getvalue(), re.MULTILINE)
        assert link is not None
        seen["link"] = link.group(1)
        seen["page"] = get(link.group(1))

    assert run(check=False, out=out, err=err, wait=browse) == 0
    status, page = seen["page"]
    assert status == 200
    assert "Katherine Johnson" in page
    text = out.getvalue()
    ltik = seen["link"].partition("ltik=")[2]
    assert text.count(ltik) == 1  # the link, and nowhere else
    assert "[tool] GET /launch?ltik=*** -> 200" in text
    assert text.rstrip().endswith("Stopped.")
    assert err.getvalue() == ""


def test_demo_against_a_real_ltiaas_prints_instructions_and_serves(fake_ltiaas):
    """``--ltiaas-url``: no scripted launch; a launch from the LMS (here: the fake, as LTIAAS) works."""
    out, err = io.StringIO(), io.StringIO()
    seen: dict[str, Any] = {}

    def launch_from_the_lms() -> None:
        url = re.search(r"launch URL to (\S+/launch)$", out.getvalue(), re.MULTILINE)
        assert url is not None
        ltik = fake_ltiaas.launch(name="Grace Hopper", context_title="Physics 101")
        seen["page"] = get(f"{url.group(1)}?{urlencode({'ltik': ltik})}")

    status = run(
        check=False,
        ltiaas_url=fake_ltiaas.url,
        api_key=fake_ltiaas.api_key,
        out=out,
        err=err,
        wait=launch_from_the_lms,
    )
    assert status == 0
    assert seen["page"][0] == 200
    assert "Grace Hopper" in seen["page"][1]
    text = out.getvalue()
    assert "Launch the tool from a course in your LMS" in text
    assert "[tool] GET /launch?ltik=*** -> 200" in text
    for secret in secrets_of(fake_ltiaas):
        assert secret not in text
        assert secret not in err.getvalue()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"check": True, "api_key": "key"}, "--check needs the built-in fake", id="check"),
        pytest.param({"check": False, "api_key": None}, "needs an API key: set LTIAAS_API_KEY", id="no-key"),
    ],
)
def test_demo_against_a_real_ltiaas_usage_errors(options, message):
    out, err = io.StringIO(), io.StringIO()
    assert run(ltiaas_url="https://x.ltiaas.com", out=out, err=err, **options) == EXIT_USAGE
    assert message in err.getvalue()


def test_demo_refuses_a_bad_ltiaas_url_without_showing_the_key():
    out, err = io.StringIO(), io.StringIO()
    key = "secret-KEY_0123456789abcdef"
    assert run(check=False, ltiaas_url="http://example.com", api_key=key, out=out, err=err) == EXIT_USAGE
    assert "https://" in err.getvalue()
    assert key not in err.getvalue() + out.getvalue()


def test_demo_without_flask_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "flask", None)  # import flask now raises ImportError
    assert main(["demo", "--check"]) == EXIT_MISSING_DEPENDENCY == 4
    err = capsys.readouterr().err
    assert "Flask is not installed" in err
    assert "pip install -e '.[demo]'" in err


def test_demo_without_an_http_client_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.setitem(sys.modules, "httpx2", None)
    assert main(["demo", "--check"]) == EXIT_MISSING_DEPENDENCY
    assert "httpx is not installed" in capsys.readouterr().err


def test_demo_cli_options(monkeypatch, capsys):
    assert main(["demo", "--api-key", "some-KEY_0123456789abcdef"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--api-key goes with --ltiaas-url" in err
    assert "some-KEY_0123456789abcdef" not in err

    monkeypatch.setenv("LTIAAS_API_KEY", "env-KEY_0123456789abcdef")
    assert main(["demo", "--check", "--ltiaas-url", "https://x.ltiaas.com"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--check needs the built-in fake" in err
    assert "env-KEY_0123456789abcdef" not in err

    assert main(["demo", "--ltiaas-url", "https://x.ltiaas.com", "--api-key", "a-KEY", "--check"]) == 2
    assert "prefer LTIAAS_API_KEY to --api-key" in capsys.readouterr().err


# --- the demo tool's routes


@pytest.fixture
def client(fake_ltiaas: FakeLtiaas) -> Client:
    return BufferedClient(create_app(fake_ltiaas.config()))


class BufferedClient(Client):
    """Reads and closes every response, as a server does, so no launch outlives its request."""

    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> Any:
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def ltik(fake_ltiaas: FakeLtiaas) -> str:
    course = {"context_id": "c1", "context_title": "Physics <101>", "resource_link_id": "l1"}
    fake_ltiaas.launch(user_id="grace", name="Grace Hopper", roles=["Instructor"], **course)
    return fake_ltiaas.launch(user_id="ada", name="Ada <b>Lovelace</b>", **course)


def bearer(ltik: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ltik}"}


def assert_ltiaas_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == status
    assert body["details"]["message"] == code
    assert isinstance(body["error"], str)
    return body  # type: ignore[no-any-return]


def test_the_launch_page(client, fake_ltiaas, ltik):
    response = client.get(f"/launch?{urlencode({'ltik': ltik})}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in page  # escaped, not markup
    assert "Physics &lt;101&gt;" in page
    assert "history.replaceState" in page
    assert ltik not in page
    assert fake_ltiaas.api_key not in page
    assert response.headers["Referrer-Policy"] == "no-referrer"  # from the middleware
    assert response.headers["Cache-Control"] == "no-store"
    nonce = re.search(r"script-src 'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    assert nonce is not None
    assert page.count(f'nonce="{nonce.group(1)}"') == 2  # the one style and the one script
    assert "Set-Cookie" not in response.headers


def test_the_roster_api(client, fake_ltiaas, ltik):
    response = client.get("/api/roster", headers=bearer(ltik))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Referrer-Policy" not in response.headers  # the ltik came in a header, not the URL
    assert response.get_json() == {
        "course": "Physics <101>",
        "members": [
            {"name": "Grace Hopper", "roles": ["Instructor"], "you": False},
            {"name": "Ada <b>Lovelace</b>", "roles": ["Learner"], "you": True},
        ],
    }
    assert [call.path for call in fake_ltiaas.calls] == ["/api/idtoken", "/api/memberships"]
    assert fake_ltiaas.api_key not in response.get_data(as_text=True)


def test_the_roster_follows_next_pages_encoded_once(client, fake_ltiaas, ltik):
    client.get("/api/roster", headers=bearer(ltik))  # the idtoken is cached from here on
    first = fake_ltiaas.idtoken_for(ltik)
    base = "https://lms.example.edu/api/lti/courses/c1/names_and_roles"
    fake_ltiaas.fail_next(
        200,
        body={
            "id": base,
            "context": {"id": "c1"},
            "members": [{"userId": "grace", "name": "Grace Hopper", "roles": ["Instructor"]}],
            "next": f"{base}?limit=1&page=2",
        },
    )
    response = client.get("/api/roster", headers=bearer(ltik))
    assert response.status_code == 200, response.get_json()
    assert [member["name"] for member in response.get_json()["members"]] == [
        "Grace Hopper",
        first["user"]["name"],
    ]
    last = fake_ltiaas.calls[-1]
    assert last.path == "/api/memberships"
    assert last.query == {"url": f"{base}?limit=1&page=2"}


@pytest.mark.parametrize(
    ("headers", "code", "challenge"),
    [
        pytest.param({}, "MISSING_LTIK", "Bearer", id="missing"),
        pytest.param(bearer("not-a-jwt"), "INVALID_LTIK", 'Bearer error="invalid_token"', id="malformed"),
    ],
)
def test_the_api_refuses_in_ltiaas_shape(client, fake_ltiaas, headers, code, challenge):
    response = client.get("/api/roster", headers=headers)
    assert_ltiaas_error(response, 401, code)
    assert response.headers["WWW-Authenticate"] == challenge
    assert fake_ltiaas.calls == []


def test_an_expired_ltik_is_refused_without_calling_ltiaas(client, fake_ltiaas):
    expired = fake_ltiaas.launch(issued_at=time.time() - 2 * 86400)
    response = client.get("/api/roster", headers=bearer(expired))
    body = assert_ltiaas_error(response, 401, "LTIK_EXPIRED")
    assert expired not in json.dumps(body)
    assert fake_ltiaas.calls == []


def test_a_refused_page_renders_html_for_a_person(client, fake_ltiaas):
    response = client.get("/launch")
    assert response.status_code == 401
    assert response.mimetype == "text/html"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "MISSING_LTIK" in response.get_data(as_text=True)

    expired = fake_ltiaas.launch(issued_at=time.time() - 2 * 86400)
    response = client.get(f"/launch?{urlencode({'ltik': expired})}")
    assert response.status_code == 401
    assert response.headers["Referrer-Policy"] == "no-referrer"  # rejections too: the ltik is in the URL
    assert "LTIK_EXPIRED" in response.get_data(as_text=True)
    assert expired not in response.get_data(as_text=True)


def test_grading_posts_a_score_and_reads_the_result(client, fake_ltiaas, ltik):
    response = client.post("/api/grade", headers=bearer(ltik), json={"scoreGiven": 7.5})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"lineItem": "Demo quiz", "scoreGiven": 7.5, "scoreMaximum": 10}
    response = client.post("/api/grade", headers=bearer(ltik), json={"scoreGiven": 0})
    assert response.get_json()["scoreGiven"] == 0

    created = [call for call in fake_ltiaas.calls if call.method == "POST" and call.path == "/api/lineitems"]
    assert len(created) == 1  # the second grade found the line item made by the first
    lookups = [call for call in fake_ltiaas.calls if call.method == "GET" and call.path == "/api/lineitems"]
    assert [call.query for call in lookups] == [{"resourceLinkId": "l1"}] * 2
    scores = [call for call in fake_ltiaas.calls if call.path.endswith("/scores") and call.method == "POST"]
    line_item = "https://lms.example.edu/api/lti/courses/c1/line_items/1/lineitem?type_id=1"
    assert {call.path for call in scores} == {f"/api/lineitems/{quote(line_item, safe='')}/scores"}
    assert json.loads(scores[0].body) == {
        "userId": "ada",
        "scoreGiven": 7.5,
        "scoreMaximum": 10,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
    }


@pytest.mark.parametrize("body", [{}, {"scoreGiven": 11}, {"scoreGiven": -1}, {"scoreGiven": True}, "x"])
def test_grading_refuses_a_bad_score(client, fake_ltiaas, ltik, body):
    response = client.post("/api/grade", headers=bearer(ltik), json=body)
    assert_ltiaas_error(response, 400, "INVALID_SCORE")


def test_grading_without_grades_in_the_launch(client, fake_ltiaas):
    ltik = fake_ltiaas.launch(services=["namesAndRoles"])
    response = client.post("/api/grade", headers=bearer(ltik), json={"scoreGiven": 5})
    assert_ltiaas_error(response, 400, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT")


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        # every attempt fails: the client tries a GET three times (max_retries=2)
        pytest.param({"status": 503, "count": 3}, "UPSTREAM_UNAVAILABLE", id="ltiaas-503"),
        pytest.param({"status": 200, "body": "<html>not json</html>"}, "UPSTREAM_UNAVAILABLE", id="not-json"),
    ],
)
def test_ltiaas_failures_answer_502_in_ltiaas_shape(client, fake_ltiaas, ltik, fault, code):
    client.get("/api/roster", headers=bearer(ltik))  # the idtoken is cached: the fault hits memberships
    fake_ltiaas.fail_next(**fault)
    response = client.get("/api/roster", headers=bearer(ltik))
    body = assert_ltiaas_error(response, 502, code)
    text = json.dumps(body)
    assert fake_ltiaas.api_key not in text
    assert ltik not in text


def test_the_favicon_needs_no_ltik(client, fake_ltiaas):
    assert client.get("/favicon.ico").status_code == 204
    assert fake_ltiaas.calls == []
