"""Headless Chromium (Debian's ``chromium`` and ``chromedriver``) driven by Selenium, started the one way
every browser test starts it. Locally, without them, a test using it is skipped; in CI (``CI=true``) a
missing browser is a failure, never a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",  # loopback only, whatever the environment says
)
WAIT = 10  # seconds, for each explicit wait
PAGE_LOAD = 10  # seconds a page may take to load


def browser_missing() -> list[str]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (the test extra)")
    return missing


@contextmanager
def chromium(profile: Path, *arguments: str) -> Iterator[Any]:
    """One headless Chromium with a fresh profile at ``profile``, started with :data:`ARGUMENTS` and
    ``arguments``; its console is logged (``driver.get_log("browser")``)."""
    missing = browser_missing()
    if missing:
        message = f"chromium/chromedriver not installed: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must run the browser tests; .ci/run installs them)")
        pytest.skip(f"{message}; apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    offline = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser or a driver
    try:
        options = Options()
        options.binary_location = str(CHROMIUM)
        for argument in (*ARGUMENTS, *arguments):
            options.add_argument(argument)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
        driver = webdriver.Chrome(service=service, options=options)
        try:
            driver.set_page_load_timeout(PAGE_LOAD)
            yield driver
        finally:
            driver.quit()
    finally:
        if offline is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = offline
