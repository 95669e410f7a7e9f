"""Where httpx is absent and its fork httpx2 is installed, the API client runs on httpx2; with neither, the
import error names the extra to install. Each case runs in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

HTTPX2_ONLY = textwrap.dedent(
    """
    import sys
    import httpx as real
    sys.modules["httpx2"] = real   # an API-compatible fork, installed under its own name
    sys.modules["httpx"] = None    # and httpx itself absent: `import httpx` raises ImportError
    from ltiaas_auth import api_key_context
    from ltiaas_auth.api import LtiaasClient, _http
    from ltiaas_auth.testing import FakeLtiaas
    assert _http.httpx is sys.modules["httpx2"]
    with FakeLtiaas() as fake, LtiaasClient(fake.config()) as client:
        assert client.platform(fake.platform_id).id == fake.platform_id
    print("ok")
    """
)
NEITHER = textwrap.dedent(
    """
    import sys
    sys.modules["httpx"] = None
    sys.modules["httpx2"] = None
    try:
        import ltiaas_auth.api
    except ImportError as error:
        print(error)
    import ltiaas_auth, ltiaas_auth.roles  # the core needs neither
    """
)


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_httpx2_where_httpx_is_absent() -> None:
    assert run(HTTPX2_ONLY).strip() == "ok"


def test_neither_names_the_extra() -> None:
    assert "pip install 'ltiaas-auth[api]'" in run(NEITHER)
