"""Test helpers: :class:`FakeLtiaas`, a real local LTIAAS server, :func:`make_idtoken`, and the pytest
fixtures ``fake_ltiaas`` (per test) and ``fake_ltiaas_session`` (per session).

The names are loaded on first use so that the pytest plugin, which lives in this package and loads in every
pytest run, does not pull in werkzeug and PyJWT until a test actually uses the fake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ltiaas_auth.testing._fake import DeepLinkReturn, FakeCall, FakeLtiaas, make_idtoken

__all__ = ["DeepLinkReturn", "FakeCall", "FakeLtiaas", "make_idtoken"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ltiaas_auth.testing import _fake

        return getattr(_fake, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
