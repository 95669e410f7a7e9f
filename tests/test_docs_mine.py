"""The getting-started page runs as written, the way tests/test_docs_pages.py runs the others (its blocks
in order, in a process of their own, warnings as errors)."""

from __future__ import annotations

import sys
from pathlib import Path

from test_docs_pages import run, source


def test_getting_started_runs(tmp_path: Path) -> None:
    script = tmp_path / "page.py"
    script.write_text(source("docs/getting-started.md"))
    result = run([sys.executable, "-W", "error", str(script)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
