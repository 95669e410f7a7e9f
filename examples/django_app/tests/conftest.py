"""pytest-django: the project's ``LTIAAS`` setting pointed at the ``fake_ltiaas`` fixture (a FakeLtiaas
from ltiaas_auth's pytest plugin) for every test that asks for ``ltiaas``."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from ltiaas_auth.testing import FakeLtiaas

from .support import ltiaas_settings


@pytest.fixture
def ltiaas(settings: SettingsWrapper, fake_ltiaas: FakeLtiaas) -> FakeLtiaas:
    settings.LTIAAS = ltiaas_settings(fake_ltiaas)  # pytest-django's settings fixture: override_settings
    return fake_ltiaas


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Django's async handler and AsyncClient run on asyncio
