"""The ``target`` fixture of the contract suite: each test runs against FakeLtiaas over HTTP, over TLS, and
a real LTIAAS account when one is configured (see ``tests/contract_targets.py`` for the variables).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from contract_targets import Target, fake_target, live_refusal, live_target


@pytest.fixture(params=["fake-http", "fake-tls", "live"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "live":
        refusal = live_refusal(os.environ)
        if refusal is not None:
            pytest.skip(refusal)
        yield live_target(os.environ)
        return
    yield from fake_target(request.param, tls=request.param == "fake-tls")
