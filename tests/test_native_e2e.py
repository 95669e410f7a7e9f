"""The native examples (the Flask extension, FastAPI's ``install``) under real servers (gunicorn, uvicorn)
on loopback, against a FakeLtiaas in this process, driven concurrently over many launches: every answer
must belong to its own launch (pages, links, forms, role gates, roster and grades through the API client,
websockets), and none may be a 5xx."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
import websocket
from servers import gunicorn, running, uvicorn

from ltiaas_auth import parse_ltik
from ltiaas_auth.testing import FakeLtiaas

pytestmark = pytest.mark.e2e

REQUESTS = 520
LAUNCHES = 24


@dataclass(frozen=True)
class Launch:
    ltik: str
    user: str
    name: str
    instructor: bool

    @property
    def fingerprint(self) -> str:
        return parse_ltik(self.ltik).fingerprint


Check = Callable[[httpx.Client, str, Launch, int], str | None]


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as fake:
        yield fake


def launches(fake: FakeLtiaas) -> list[Launch]:
    made = []
    for index in range(LAUNCHES):
        instructor = index % 2 == 0
        user, name = f"user-{index}", f"Person {index}"
        ltik = fake.launch(user_id=user, name=name, roles=["Instructor" if instructor else "Learner"])
        made.append(Launch(ltik, user, name, instructor))
    return made


def drive(base: str, fake: FakeLtiaas, checks: list[Check]) -> None:
    """``REQUESTS`` concurrent requests over ``LAUNCHES`` launches, every check against every launch in
    turn; each check returns what went wrong, or None."""
    made = launches(fake)

    def one(client: httpx.Client, index: int) -> str | None:
        launch = made[index % LAUNCHES]
        check = checks[(index + index // LAUNCHES) % len(checks)]  # every pairing occurs
        try:
            return check(client, base, launch, index)
        except Exception as error:  # a broken connection or body is a failure too, with its name
            return f"{check.__name__}: {type(error).__name__}: {error}"

    with (
        httpx.Client(timeout=15, trust_env=False, limits=httpx.Limits(max_connections=32)) as client,
        ThreadPoolExecutor(16) as pool,
    ):
        failures = [failure for failure in pool.map(lambda i: one(client, i), range(REQUESTS)) if failure]
    assert failures == [], failures[:5]


def status(response: httpx.Response, expected: int, what: str) -> str | None:
    if response.status_code != expected:
        return f"{what}: {response.status_code} {response.text[:200]}"
    return None


def gated(response: httpx.Response, launch: Launch, what: str) -> str | None:
    """An instructor's answer (200) or a learner's refusal (403 ROLE_REQUIRED), never a token in it."""
    if launch.ltik in response.text:
        return f"{what}: the ltik came back"
    if launch.instructor:
        return status(response, 200, what)
    problem = status(response, 403, what)
    if problem is None and response.json()["details"]["message"] != "ROLE_REQUIRED":
        problem = f"{what}: {response.text[:200]}"
    return problem


# --- Flask -----------------------------------------------------------------------------------------------


def flask_page(client: httpx.Client, base: str, launch: Launch, index: int) -> str | None:
    """The launch page: its greeting, its link and its form hold this launch's ltik, nobody else's."""
    page = client.get(f"{base}/", params={"ltik": launch.ltik})
    problem = status(page, 200, "page")
    if problem:
        return problem
    text = html.unescape(page.text)
    href = re.search(r'href="([^"]+)"', text)
    field = re.search(r'name="ltik" value="([^"]+)"', text)
    if f"Hello {launch.name}" not in text or href is None or field is None:
        return f"page: not this launch's: {text[:200]}"
    if href[1] != f"/roster?ltik={launch.ltik}" or field[1] != launch.ltik:
        return "page: a link or a field carries another launch's ltik"
    if page.headers.get("referrer-policy") != "no-referrer":
        return "page: no Referrer-Policy"
    return None


def flask_link(client: httpx.Client, base: str, launch: Launch, index: int) -> str | None:
    """The page's link followed (the ltik in its query): the roster, through the API client."""
    answer = client.get(f"{base}/roster", params={"ltik": launch.ltik})
    problem = gated(answer, launch, "roster")
    if problem is None and launch.instructor and answer.json() != {"members": [launch.name]}:
        problem = f"roster: another launch's: {answer.text[:200]}"
    return problem


def flask_form(client: httpx.Client, base: str, launch: Launch, index: int) -> str | None:
    """The page's form posted (the ltik in its hidden field): a grade, through the API client."""
    form = {"ltik": launch.ltik, "user_id": launch.user, "score": str(index % 11)}
    answer = client.post(f"{base}/grade", data=form)
    problem = gated(answer, launch, "grade")
    if problem is None and launch.instructor and answer.json()["graded"] != launch.user:
        problem = f"grade: another launch's: {answer.text[:200]}"
    return problem


def whoami(route: str) -> Check:
    def check(client: httpx.Client, base: str, launch: Launch, index: int) -> str | None:
        headers = {"Authorization": f"Bearer {launch.ltik}"} if index % 2 else {"X-Ltik": launch.ltik}
        answer = client.get(f"{base}{route}", headers=headers)
        problem = status(answer, 200, route)
        if problem is None and answer.json() != {"ltik": launch.fingerprint, "user": launch.user}:
            problem = f"{route}: another launch's: {answer.text[:200]}"
        return problem

    check.__name__ = f"whoami {route}"
    return check


def test_flask_example_under_gunicorn(fake: FakeLtiaas) -> None:
    with running(gunicorn("examples.flask_app:create_app()"), fake) as base:
        drive(base, fake, [flask_page, flask_link, flask_form, whoami("/whoami")])
        assert httpx.get(f"{base}/whoami", trust_env=False).status_code == 401
        assert httpx.get(f"{base}/about", trust_env=False).status_code == 200  # @ltik_exempt


# --- FastAPI ---------------------------------------------------------------------------------------------


def fastapi_roster(client: httpx.Client, base: str, launch: Launch, index: int) -> str | None:
    answer = client.get(f"{base}/instructor/roster", params={"ltik": launch.ltik})
    problem = gated(answer, launch, "roster")
    if problem is None and launch.instructor and answer.json() != {"members": [launch.name]}:
        problem = f"roster: another launch's: {answer.text[:200]}"
    return problem


def fastapi_grade(client: httpx.Client, base: str, launch: Launch, index: int) -> str | None:
    body = {"user_id": launch.user, "score": index % 11}
    answer = client.post(f"{base}/instructor/grades", json=body, headers={"X-Ltik": launch.ltik})
    problem = gated(answer, launch, "grades")
    if problem is None and launch.instructor and answer.json()["graded"] != launch.user:
        problem = f"grades: another launch's: {answer.text[:200]}"
    return problem


def fastapi_websocket(client: httpx.Client, base: str, launch: Launch, index: int) -> str | None:
    url = base.replace("http://", "ws://") + "/ws"
    socket = websocket.create_connection(url, header=[f"Authorization: Bearer {launch.ltik}"], timeout=15)
    try:
        seen = json.loads(socket.recv())
    finally:
        socket.close()
    return None if seen == {"ltik": launch.fingerprint} else f"ws: another launch's: {seen}"


def test_fastapi_example_under_uvicorn(fake: FakeLtiaas) -> None:
    with running(uvicorn("examples.fastapi_app:create_app", "--factory"), fake) as base:
        checks = [whoami("/whoami"), whoami("/whoami-sync"), fastapi_roster, fastapi_grade, fastapi_websocket]
        drive(base, fake, checks)
        assert httpx.get(f"{base}/whoami", trust_env=False).status_code == 401
        schema = httpx.get(f"{base}/openapi.json", trust_env=False).json()
        assert set(schema["components"]["securitySchemes"]) == {"LtikBearer", "LtikQuery", "LtikHeader"}
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(base.replace("http://", "ws://") + "/ws", timeout=15)
        assert refused.value.status_code == 403
