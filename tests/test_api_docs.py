"""docs/api-client.md runs as written: its Python blocks, in order, in a process of their own."""

from __future__ import annotations

import sys
from pathlib import Path

from test_docs_pages import run, source


def test_the_api_client_page_runs(tmp_path: Path) -> None:
    script = tmp_path / "page.py"
    script.write_text(source("docs/api-client.md"))
    result = run([sys.executable, "-W", "error", str(script)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SERVICE_NOT_AVAILABLE_FOR_CONTEXT" in result.stdout
    assert "{'you': 'Ada Lovelace', 'members': 251}" in result.stdout
    assert "[503, 200]" in result.stdout
