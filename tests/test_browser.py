"""The demo tool's page in a real browser: headless Chromium (Debian's) driven by Selenium.

The page must take the ltik out of the address bar, keep it in memory, call the tool's API with it as a
Bearer token and render the roster, all under the page's own Content-Security-Policy. The browser is
``browser_helpers.chromium`` (skipped locally without Chromium, a failure under ``CI=true``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from browser_helpers import WAIT, chromium

from ltiaas_auth.demo.app import create_app
from ltiaas_auth.demo.runner import ToolServer
from ltiaas_auth.testing import FakeLtiaas


@pytest.fixture
def tool(fake_ltiaas: FakeLtiaas) -> Iterator[ToolServer]:
    """The demo tool on loopback for the fake; requested before ``driver``, so it stops after it."""
    with ToolServer(create_app(fake_ltiaas.config())) as server:
        yield server


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "profile") as browser:
        yield browser


def test_the_page_hides_the_ltik_and_renders_the_roster(
    fake_ltiaas: FakeLtiaas, tool: ToolServer, driver: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    course = {"context_id": "physics-101", "context_title": "Physics 101"}
    fake_ltiaas.launch(user_id="grace", name="Grace Hopper", roles=["Instructor"], **course)
    ltik = fake_ltiaas.launch(user_id="ada", name="Ada Lovelace", **course)

    driver.get(f"{tool.url}/launch?{urlencode({'ltik': ltik})}")
    wait = WebDriverWait(driver, WAIT)
    wait.until(lambda browser: "ltik" not in browser.current_url)
    wait.until(lambda browser: browser.find_element(By.TAG_NAME, "body").get_attribute("data-roster"))

    assert driver.current_url == f"{tool.url}/launch"
    assert driver.find_element(By.ID, "user-name").text == "Ada Lovelace"
    assert driver.find_element(By.ID, "course-title").text == "Physics 101"
    roster = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#roster li")]
    assert roster == ["Grace Hopper (Instructor)", "Ada Lovelace (Learner), you"]

    driver.find_element(By.ID, "finish").click()
    wait.until(lambda browser: "8 / 10" in browser.find_element(By.ID, "grade").text)

    assert ltik not in driver.page_source
    assert fake_ltiaas.api_key not in driver.page_source
    # One idtoken fetch served the page, the roster and the grade.
    assert [call.path for call in fake_ltiaas.calls].count("/api/idtoken") == 1
    # The page's own script and style ran under its CSP: the console has no error (a CSP block would show).
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
