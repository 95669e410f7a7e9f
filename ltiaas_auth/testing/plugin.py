"""pytest plugin (entry point ``pytest11``/``ltiaas_auth``): the ``fake_ltiaas`` and ``fake_ltiaas_session``
fixtures.

It loads in every pytest run of anyone who installs the package, so it imports nothing heavy at module level;
the fake (PyJWT, werkzeug's response objects) is imported only when a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ltiaas_auth.testing._fake import FakeLtiaas


@pytest.fixture
def fake_ltiaas() -> Iterator[FakeLtiaas]:
    """A started :class:`~ltiaas_auth.testing.FakeLtiaas` on 127.0.0.1, stopped after the test."""
    from ltiaas_auth.testing._fake import FakeLtiaas

    with FakeLtiaas() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_ltiaas_session() -> Iterator[FakeLtiaas]:
    """One started :class:`~ltiaas_auth.testing.FakeLtiaas` for the whole session (for servers that outlive
    a test, such as pytest-django's ``live_server``). Its launches, calls and faults are shared: call
    ``fake_ltiaas_session.reset()`` where a test needs a clean ``calls`` list."""
    from ltiaas_auth.testing._fake import FakeLtiaas

    with FakeLtiaas() as fake:
        yield fake
