"""``FakeLtiaasRunner``: ``manage.py test`` against a :class:`~ltiaas_auth.testing.FakeLtiaas`.

.. code-block:: python

    TEST_RUNNER = "ltiaas_auth.django.testing.FakeLtiaasRunner"

Django's runner runs the system checks before the tests, so a project whose ``LTIAAS`` key and URL come from
the environment would fail ``ltiaas_auth.E002``/``E003`` on a machine without them. This runner starts a
FakeLtiaas (on loopback) for the whole run and points ``LTIAAS["API_KEY"]``/``["URL"]`` at it, so the
checks pass and every test that does not point the setting elsewhere (``override_settings``) talks to the
fake: :func:`fake` returns it, to mint launches.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import override_settings
from django.test.runner import DiscoverRunner

from ..testing import FakeLtiaas

__all__ = ["FakeLtiaasRunner", "fake"]

_running: list[FakeLtiaas] = []


def fake() -> FakeLtiaas:
    """The run's FakeLtiaas; ``RuntimeError`` outside a run of ``FakeLtiaasRunner``."""
    if not _running:
        raise RuntimeError("No FakeLtiaas is running: set TEST_RUNNER to FakeLtiaasRunner.")
    return _running[-1]


class FakeLtiaasRunner(DiscoverRunner):
    """Django's ``DiscoverRunner`` with a FakeLtiaas for the run (see the module's documentation)."""

    def setup_test_environment(self, **kwargs: Any) -> None:
        super().setup_test_environment(**kwargs)
        server = FakeLtiaas().__enter__()
        _running.append(server)
        value = getattr(settings, "LTIAAS", {})
        self._override = override_settings(LTIAAS={**value, "API_KEY": server.api_key, "URL": server.url})
        self._override.enable()

    def teardown_test_environment(self, **kwargs: Any) -> None:
        self._override.disable()
        _running.pop().__exit__(None, None, None)
        super().teardown_test_environment(**kwargs)
