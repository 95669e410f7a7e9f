"""The Django example's own test suite, run as its users run it: ``python manage.py test`` (Django's runner
and ``TestCase`` clients) and ``python -m pytest examples/django_app`` (pytest-django, with the example's
own ``pytest.ini``). Each runs in a process of its own, so Django's settings there never touch this
session's (other tests here configure Django themselves)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "django_app"


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LTIAAS_", "DJANGO_"))}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)


def test_manage_py_test() -> None:
    result = run([sys.executable, "manage.py", "test", "--noinput"], EXAMPLE)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "System check identified no issues" in output  # Django's runner checks first
    count = re.search(r"Ran (\d+) tests", output)
    assert count is not None, output[-2000:]
    assert int(count[1]) >= 30  # the whole suite ran, not an empty discovery


def test_pytest_django() -> None:
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/django_app"], ROOT
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    count = re.search(r"(\d+) passed", output)
    assert count is not None, output[-2000:]
    assert int(count[1]) >= 40  # TestCase classes and pytest functions alike
