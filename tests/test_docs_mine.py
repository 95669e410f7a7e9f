"""The getting-started page runs as written, the way tests/test_docs_pages.py runs the others (its blocks
in order, in a process of their own, warnings as errors), and the install lines of these pages work."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from test_docs_pages import run, source


def test_getting_started_runs(tmp_path: Path) -> None:
    script = tmp_path / "page.py"
    script.write_text(source("docs/getting-started.md"))
    result = run([sys.executable, "-W", "error", str(script)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


INSTALL = re.compile(r"pip install [^\n`]*ltiaas-auth[^\n`]*")


@pytest.mark.parametrize(
    "page", ["docs/getting-started.md", "docs/clients.md", "docs/redis.md", "docs/cli.md", "docs/api.md"]
)
def test_no_install_line_asks_the_package_index(page: str) -> None:
    """ltiaas-auth is not on the index yet: every install line says how to install from a clone."""
    text = (Path(__file__).parent.parent / page).read_text()
    lines = INSTALL.findall(text)
    assert [line for line in lines if "-e " not in line and "git+" not in line] == []
