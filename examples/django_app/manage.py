#!/usr/bin/env python
"""The example tool's command-line utility: ``python manage.py runserver``, ``… test``, ``… check``.

The project is the package ``examples.django_app`` of this repository, so the repository root goes on the
import path first (in a project of your own, ``manage.py`` sits beside your project package and needs none).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
