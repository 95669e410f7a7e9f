"""The benchmarks run end to end (``python -m benchmarks --quick``) and print their whole table.

No figure is checked: timings are read from a real run in docs/performance.md, never asserted here, where
a busy machine would make them flaky. Skipped when the peers the benchmarks compare against (the ``bench``
extra, also in ``test``) are not installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PEERS = ("asgi_correlation_id", "ltiaas")

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in PEERS),
    reason="the bench extra (asgi-correlation-id, ltiaas) is not installed",
)


def test_the_benchmarks_run_and_print_the_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for heading in (
        "1. Middleware overhead",
        "2. Cached idtoken read",
        "3. Upstream GET /api/idtoken",
        "4. A view reading the idtoken 100 times",
        "Targets (DESIGN §7)",
        "Total run time",
    ):
        assert heading in result.stdout
