"""pytest plugin (entry point ``pytest11``/``ltiaas_auth``): the ``fake_ltiaas`` fixture.

It loads in every pytest run of anyone who installs the package, so it imports nothing heavy at module level;
the fake (werkzeug, PyJWT) is imported only when a test asks for the fixture.
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
