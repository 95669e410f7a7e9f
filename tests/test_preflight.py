"""``OPTIONS`` and ``exempt``: only a real CORS preflight passes the gate untouched, and ``exempt`` matches
the path below the mount point the same way under every server convention.

A preflight is ``OPTIONS`` with both ``Origin`` and ``Access-Control-Request-Method``; any other ``OPTIONS``
(a Django view answers it with its data) is gated like a ``GET``. Under ASGI, uvicorn puts ``root_path``
into ``scope["path"]`` and hypercorn does not: both spellings of one request are exempt alike.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from helpers import CONFIG, asgi_probe, asgi_scope, call_asgi, call_wsgi, wsgi_environ, wsgi_probe
from ltik_factory import fresh_ltik
from servers import running, uvicorn

from ltiaas_auth import LtiaasASGIMiddleware, LtiaasMiddleware
from ltiaas_auth._gate import below_mount
from ltiaas_auth.testing import FakeLtiaas

PREFLIGHT = {"Origin": "https://tool.example", "Access-Control-Request-Method": "POST"}

OPTIONS_CASES = [
    pytest.param(PREFLIGHT, 200, id="preflight"),
    pytest.param({}, 401, id="no-cors-headers"),
    pytest.param({"Origin": "https://tool.example"}, 401, id="origin-only"),
    pytest.param({"Access-Control-Request-Method": "POST"}, 401, id="method-only"),
    pytest.param({"Origin": "", "Access-Control-Request-Method": "POST"}, 401, id="empty-origin"),
]


def wsgi_options(headers: dict[str, str], **options: Any) -> tuple[int, dict[str, str], bytes]:
    app = LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False, **options)
    return call_wsgi(app, wsgi_environ("/api/data", method="OPTIONS", headers=headers))


def asgi_options(headers: dict[str, str]) -> int:
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False)
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return asyncio.run(call_asgi(app, asgi_scope("/api/data", method="OPTIONS", headers=raw))).status


@pytest.mark.parametrize(("headers", "status"), OPTIONS_CASES)
def test_wsgi_only_a_real_preflight_passes_ungated(headers: dict[str, str], status: int) -> None:
    answered, _, body = wsgi_options(headers)
    assert answered == status
    if status == 200:
        assert b'"auth": null' in body  # untouched: no ltik read, no credential set


@pytest.mark.parametrize(("headers", "status"), OPTIONS_CASES)
def test_asgi_only_a_real_preflight_passes_ungated(headers: dict[str, str], status: int) -> None:
    assert asgi_options(headers) == status


def test_an_options_request_with_a_valid_ltik_is_served_like_a_get() -> None:
    ltik = fresh_ltik()
    status, _, body = wsgi_options({"Authorization": f"Bearer {ltik}"})
    assert status == 200
    assert ltik in body.decode()  # the app ran with the launch current


def test_a_preflight_with_a_broken_ltik_is_not_read() -> None:
    assert wsgi_options({**PREFLIGHT, "Authorization": "Bearer broken"})[0] == 200


# --- exempt below the mount point -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "root_path", "below"),
    [
        pytest.param("/app/health", "/app", "/health", id="uvicorn-includes-root-path"),
        pytest.param("/health", "/app", "/health", id="hypercorn-leaves-it-out"),
        pytest.param("/app", "/app", "/", id="the-mount-point-itself"),
        pytest.param("/application/health", "/app", "/application/health", id="not-at-a-segment-boundary"),
        pytest.param("/health", "", "/health", id="no-mount"),
    ],
)
def test_below_mount(path: str, root_path: str, below: str) -> None:
    assert below_mount(path, root_path) == below


def asgi_status(path: str, root_path: str) -> int:
    app = LtiaasASGIMiddleware(asgi_probe, config=CONFIG, prefetch_idtoken=False, exempt=("/health",))
    scope = asgi_scope(path)
    scope["root_path"] = root_path
    return asyncio.run(call_asgi(app, scope)).status


@pytest.mark.parametrize(
    ("path", "root_path", "status"),
    [
        pytest.param("/app/health", "/app", 200, id="uvicorn"),
        pytest.param("/health", "/app", 200, id="hypercorn"),
        pytest.param("/app/other", "/app", 401, id="uvicorn-gated"),
        pytest.param("/other", "/app", 401, id="hypercorn-gated"),
        pytest.param("/app/app/health", "/app", 401, id="only-one-prefix-stripped"),
    ],
)
def test_asgi_exempt_is_matched_below_the_mount_point(path: str, root_path: str, status: int) -> None:
    assert asgi_status(path, root_path) == status


def test_wsgi_exempt_is_matched_against_path_info_below_script_name() -> None:
    app = LtiaasMiddleware(wsgi_probe, CONFIG, prefetch_idtoken=False, exempt=("/health",))
    environ = wsgi_environ("/health")
    environ["SCRIPT_NAME"] = "/app"
    assert call_wsgi(app, environ)[0] == 200
    environ = wsgi_environ("/app/health")  # a server that did not strip the mount: not ours to guess
    assert call_wsgi(app, environ)[0] == 401


def uvicorn_under_app(port: int) -> list[str]:
    return uvicorn("tests.mounted_app:app", "--root-path", "/app")(port)


def hypercorn_under_app(port: int) -> list[str]:
    return ["hypercorn", "--root-path", "/app", "-b", f"127.0.0.1:{port}", "tests.mounted_app:app"]


@pytest.mark.parametrize(
    ("command", "seen_path"),
    [
        pytest.param(uvicorn_under_app, "/app/health", id="uvicorn"),
        pytest.param(hypercorn_under_app, "/health", id="hypercorn"),
    ],
)
def test_real_servers_with_a_root_path_agree(command: Any, seen_path: str) -> None:
    """Behind a proxy that strips ``/app``: uvicorn puts the root path into ``scope["path"]``, hypercorn
    does not, and the same request is exempt under both (``running`` waits for ``/health`` to be 200)."""
    with FakeLtiaas() as fake, running(command, fake) as base:
        health = httpx.get(f"{base}/health", timeout=5, trust_env=False)
        assert health.json() == {"path": seen_path, "root_path": "/app"}  # the two conventions
        assert health.status_code == 200
        assert httpx.get(f"{base}/other", timeout=5, trust_env=False).status_code == 401
