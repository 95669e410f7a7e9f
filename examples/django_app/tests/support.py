"""What the example's tests share: a FakeLtiaas (the real LTIAAS API, on loopback) for a test class, and
the ``LTIAAS`` setting pointed at it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import SimpleTestCase, override_settings

from ltiaas_auth.testing import FakeLtiaas

INSTRUCTOR = ["Instructor"]


def ltiaas_settings(fake: FakeLtiaas, **extra: Any) -> dict[str, Any]:
    """The project's ``LTIAAS`` setting with the fake's key and URL (and ``extra`` keys)."""
    return {**settings.LTIAAS, "API_KEY": fake.api_key, "URL": fake.url, **extra}


class FakeLtiaasMixin(SimpleTestCase):
    """Starts a FakeLtiaas for the class and points ``LTIAAS`` at it with ``override_settings``."""

    fake: FakeLtiaas

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.fake = cls.enterClassContext(FakeLtiaas())
        cls.enterClassContext(override_settings(LTIAAS=ltiaas_settings(cls.fake)))
