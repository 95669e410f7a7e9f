"""The public surface: exactly these names, each importable, each documented."""

from __future__ import annotations

import ltiaas_auth

PUBLIC = {
    "AmbiguousLtik",
    "CacheInfo",
    "ExpiredLtik",
    "ForeignOriginError",
    "InvalidCredential",
    "InvalidLtik",
    "Launch",
    "LtiaasAuth",
    "LtiaasAuthError",
    "LtiaasConfig",
    "Ltik",
    "MissingLtik",
    "NoLaunchContext",
    "UpstreamError",
    "api_key_context",
    "auth_header",
    "auth_headers",
    "bearer_authorization",
    "current_launch",
    "launch_context",
    "ltik_authorization",
    "parse_ltik",
    "service_authorization",
    "service_context",
}


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
