"""The public surface: exactly these names, each importable, each documented."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import ltiaas_auth

PUBLIC = {
    "AmbiguousLtik",
    "ApiKeyRejected",
    "CacheInfo",
    "ExpiredLtik",
    "ForeignOriginError",
    "IdtokenStore",
    "InvalidCredential",
    "InvalidLtik",
    "InvalidRequest",
    "Launch",
    "LmsError",
    "LtiaasASGIMiddleware",
    "LtiaasAuth",
    "LtiaasAuthError",
    "LtiaasConfig",
    "LtiaasMiddleware",
    "Ltik",
    "LtikRefused",
    "MemoryServiceKeyStore",
    "MissingLtik",
    "NoLaunchContext",
    "NotFound",
    "RateLimited",
    "RedactingFilter",
    "Role",
    "RoleRequired",
    "Roles",
    "SQLiteServiceKeyStore",
    "ServiceKeyRecord",
    "ServiceKeyRejected",
    "ServiceKeyStore",
    "ServiceKeyStoreError",
    "ServiceNotAvailable",
    "StoreLook",
    "UpstreamError",
    "api_key_context",
    "auth_header",
    "auth_headers",
    "bearer_authorization",
    "bind_context",
    "current_launch",
    "launch_context",
    "ltik_authorization",
    "parse_ltik",
    "redact_url",
    "service_authorization",
    "service_context",
    "stored_service_context",
    "submit_in_context",
}


def test_importing_the_package_loads_no_framework_or_http_client():
    """The core stays light: adapters import their dependency only when used."""
    code = (
        "import sys, ltiaas_auth; "
        "heavy = {'flask', 'django', 'starlette', 'fastapi', 'requests', 'httpx', 'aiohttp', 'redis'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_all_is_exactly_the_public_names():
    assert set(ltiaas_auth.__all__) == PUBLIC
    assert sorted(ltiaas_auth.__all__) == list(ltiaas_auth.__all__)


def test_every_public_name_is_importable_and_documented():
    for name in ltiaas_auth.__all__:
        value = getattr(ltiaas_auth, name)
        assert value.__doc__, name


def test_public_names_belong_to_the_package():
    for name in ltiaas_auth.__all__:
        assert getattr(ltiaas_auth, name).__module__.startswith("ltiaas_auth."), name


#: The integration and helper modules users import by name: each states its public names in ``__all__``.
PUBLIC_MODULES = [
    "ltiaas_auth.api",
    "ltiaas_auth.roles",
    "ltiaas_auth.frontend",
    "ltiaas_auth.flask",
    "ltiaas_auth.fastapi",
    "ltiaas_auth.starlette",
    "ltiaas_auth.django",
    "ltiaas_auth.django.rest",
    "ltiaas_auth.sentry",
    "ltiaas_auth.structlog",
    "ltiaas_auth.otel",
    "ltiaas_auth.log_context",
    "ltiaas_auth.redact",
    "ltiaas_auth.testing",
    "ltiaas_auth.clients.requests",
    "ltiaas_auth.clients.httpx",
    "ltiaas_auth.clients.aiohttp",
    "ltiaas_auth.clients.urllib",
]


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_each_public_module_states_its_names(module):
    loaded = importlib.import_module(module)
    names = loaded.__all__
    assert names, module
    assert len(set(names)) == len(names), module
    for name in names:
        value = getattr(loaded, name)
        if callable(value):
            assert value.__doc__, f"{module}.{name}"
