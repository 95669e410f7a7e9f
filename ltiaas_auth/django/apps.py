"""The Django app: system checks, the settings' rebuild on ``setting_changed``, and ``ltik.js`` as a static
file (``{% static "ltiaas_auth/ltik.js" %}``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


class LtiaasAuthConfig(AppConfig):
    name = "ltiaas_auth.django"
    label = "ltiaas_auth"
    verbose_name = "LTIAAS authentication"
    # The package root, whose static/ltiaas_auth/ltik.js is the one ltiaas_auth.frontend inlines: the
    # staticfiles app finds it there (an app's files are looked up under its path). The relaunch template
    # is rendered by responses.py, which looks in the project's templates first, then in this app's.
    path = str(Path(__file__).resolve().parent.parent)

    def ready(self) -> None:
        from . import checks, conf

        del checks  # registered on import
        setting_changed.connect(_setting_changed, dispatch_uid="ltiaas_auth.django.settings")
        conf.clear()


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    from . import conf

    if setting in conf.WATCHED:
        conf.clear()
