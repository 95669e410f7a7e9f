"""A real headless Chromium on FakeLtiaas's own pages: pick a user, land on a tool behind the middleware, and
return deep-linking content to the LMS.

The browser is ``browser_helpers.chromium`` (Debian's Chromium and chromedriver through Selenium; skipped
locally without them, a failure under ``CI=true``). The tool is a small Flask app behind
``LtiaasMiddleware``; it calls LTIAAS with the typed API client, over https when the fake speaks TLS (the
tool trusts the fake's CA through ``fake.config()``; only the browser is told to accept it).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import WAIT, chromium
from flask import Flask

from ltiaas_auth import LtiaasConfig, LtiaasMiddleware, current_launch
from ltiaas_auth.api import LtiaasClient
from ltiaas_auth.demo.runner import ToolServer
from ltiaas_auth.testing import FakeLtiaas

ITEMS = [
    {"type": "ltiResourceLink", "title": "Quiz 1", "url": "https://tool.example.com/quiz/1"},
    {"type": "link", "title": "Reading", "url": "https://tool.example.com/reading"},
]


def create_tool(config: LtiaasConfig, client: LtiaasClient) -> Flask:
    """The tool: a launch page greeting the user, or, for a deep-linking launch, the form LTIAAS builds."""
    app = Flask(__name__)
    app.wsgi_app = LtiaasMiddleware(app.wsgi_app, config)  # type: ignore[method-assign]

    @app.get("/launch")
    def launch() -> str:
        idtoken = current_launch().idtoken()
        if idtoken["launch"]["type"] == "LtiDeepLinkingRequest":
            form = client.deep_linking_form(ITEMS, message="Added 2 items")  # LTIAAS's self-submitting form
            return f'<!doctype html><title>Choose</title><p id="choosing">Sending your choice…</p>{form}'
        user, course = idtoken["user"], idtoken["launch"]["context"]
        roles = ", ".join(role.rpartition("#")[2] for role in user["roles"])
        return (
            f'<!doctype html><title>Tool</title><h1 id="user">{html.escape(user["name"])}</h1>'
            f'<p id="roles">{html.escape(roles)}</p><p id="course">{html.escape(course["title"])}</p>'
        )

    return app


@pytest.fixture(params=[False, True], ids=["http", "tls"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeLtiaas]:
    with FakeLtiaas(tls=request.param) as started:
        yield started


@pytest.fixture
def tool(fake: FakeLtiaas) -> Iterator[ToolServer]:
    """The tool on loopback, and the fake pointed at its launch URL."""
    config = fake.config()
    with LtiaasClient(config) as client, ToolServer(create_tool(config, client)) as server:
        fake.tool_url = f"{server.url}/launch"
        yield server


@pytest.fixture
def driver(tmp_path: Path, fake: FakeLtiaas) -> Iterator[Any]:
    # The browser does not know the fake's throwaway CA; the tool does, and checks it.
    trust = ("--ignore-certificate-errors",) if fake.tls else ()
    with chromium(tmp_path / "profile", *trust) as browser:
        yield browser


def launch_from_the_fakes_page(driver: Any, fake: FakeLtiaas, **choices: str) -> None:
    """Open the fake's launch page, choose ``choices`` (a select's id: the option's value) and launch."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(fake.url)
    for select, value in choices.items():
        Select(driver.find_element(By.ID, select)).select_by_value(value)
    driver.find_element(By.ID, "launch").click()


def test_a_user_picked_on_the_fakes_page_lands_on_the_tool(
    fake: FakeLtiaas, tool: ToolServer, driver: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    launch_from_the_fakes_page(driver, fake, user_id="grace", roles="Instructor", context_id="history-201")
    WebDriverWait(driver, WAIT).until(lambda browser: browser.current_url.startswith(f"{tool.url}/launch"))
    WebDriverWait(driver, WAIT).until(lambda browser: browser.find_elements(By.ID, "user"))

    assert driver.find_element(By.ID, "user").text == "Grace Hopper"
    assert driver.find_element(By.ID, "roles").text == "Instructor"
    assert driver.find_element(By.ID, "course").text == "History 201"
    assert fake.api_key not in driver.page_source
    assert [(call.path, call.scheme, call.status) for call in fake.calls if call.path.startswith("/api")] == [
        ("/api/idtoken", "LTIK-AUTH-V2", 200)
    ]


def test_a_deep_linking_launch_returns_the_items_through_the_browser(
    fake: FakeLtiaas, tool: ToolServer, driver: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    launch_from_the_fakes_page(driver, fake, user_id="grace", roles="Instructor", message_type="deep_linking")
    # The tool's page holds LTIAAS's form, which the browser submits to the LMS's return URL (the fake).
    WebDriverWait(driver, WAIT).until(lambda browser: browser.find_elements(By.ID, "received"))

    assert driver.current_url == f"{fake.url}/lti/deeplinking/return"
    assert driver.find_element(By.ID, "received").text == "Received 2 content items."
    assert [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#items li")] == ["Quiz 1", "Reading"]
    returned = fake.deep_link_returns
    assert len(returned) == 1
    assert returned[0].content_items == ITEMS
    assert returned[0].message == "Added 2 items"
    assert [call.path for call in fake.calls if call.path.startswith("/api")] == [
        "/api/idtoken",
        "/api/deeplinking/form",
    ]
