"""The Python blocks of the README and the framework, jobs, testing and security pages run as written.

Each page's blocks are put together, in order, into one file and run in a process of their own (they
start servers and configure Django), with warnings as errors. A block right after an
``<!-- not run: reason -->`` line is left out (a Django project's ``wsgi.py``, say). ``LTIAAS_API_KEY`` and
``LTIAAS_URL`` are set to placeholders, so ``LtiaasConfig.from_env()`` works where a page calls it; every
call to LTIAAS in the pages goes to a ``FakeLtiaas``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BLOCK = re.compile(r"(<!-- not run[^>]*-->\n)?```python\n(.*?)```", re.DOTALL)
SCRIPTS = ["README.md", "docs/flask.md", "docs/fastapi.md", "docs/django.md", "docs/background-jobs.md"]
SCRIPTS += ["docs/security.md", "docs/frontend.md", "docs/redis.md"]
TEST_MODULES = ["docs/testing.md"]


def source(page: str) -> str:
    blocks = [match[2] for match in BLOCK.finditer((ROOT / page).read_text()) if not match[1]]
    assert blocks, f"{page} has no Python block to run"
    return "\n\n".join(blocks)


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "LTIAAS_API_KEY": "docs-KEY_0123456789abcdef",
        "LTIAAS_URL": "https://your.ltiaas.com",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    environment.pop("LTIAAS_REDIS_URL", None)
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("page", SCRIPTS)
def test_the_page_runs(page: str, tmp_path: Path) -> None:
    script = tmp_path / "page.py"
    script.write_text(source(page))
    result = run([sys.executable, "-W", "error", str(script)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("page", TEST_MODULES)
def test_the_page_passes_as_a_test_module(page: str, tmp_path: Path) -> None:
    (tmp_path / "test_page.py").write_text(source(page))
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_page.py"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
