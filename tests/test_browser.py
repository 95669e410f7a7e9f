"""The demo tool's page in a real browser: headless Chromium (Debian's) driven by Selenium.

The page must take the ltik out of the address bar, keep it in memory, call the tool's API with it as a
Bearer token and render the roster, all under the page's own Content-Security-Policy. Locally, without
Chromium, the test is skipped; in CI (``CI=true``) a missing browser is a failure, never a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from ltiaas_auth.demo.app import create_app
from ltiaas_auth.demo.runner import ToolServer
from ltiaas_auth.testing import FakeLtiaas

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
)
WAIT = 10  # seconds, for each explicit wait


def _missing() -> list[str]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (the test extra)")
    return missing


@pytest.fixture
def tool(fake_ltiaas: FakeLtiaas) -> Iterator[ToolServer]:
    """The demo tool on loopback for the fake; requested before ``driver``, so it stops after it."""
    with ToolServer(create_app(fake_ltiaas.config())) as server:
        yield server


@pytest.fixture
def driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    missing = _missing()
    if missing:
        message = f"chromium/chromedriver not installed: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must run the browser test; .ci/run installs them)")
        pytest.skip(f"{message}; apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a browser or driver
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
    browser = webdriver.Chrome(service=service, options=options)
    try:
        yield browser
    finally:
        browser.quit()


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
