# ruff: noqa: PT009 - Django's runner shows a unittest assertion's values; a bare assert it would not.
"""Each system check fires on a settings module made to trigger it, and none fires on the example's own.

A case's module imports the example's settings and changes what the case says; its settings are put in
force with ``override_settings`` and Django's ``run_checks`` runs, in this process (one ``manage.py check``
per case would cost seconds each). ``test_manage_py_check`` runs the real command too."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from django.conf import global_settings, settings
from django.core.checks import Tags, run_checks
from django.test import SimpleTestCase, override_settings

MANAGE = Path(__file__).resolve().parent.parent / "manage.py"
OURS = "ltiaas_auth.django.LtiaasMiddleware"
SECURITY = "django.middleware.security.SecurityMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
ENV = {"LTIAAS_API_KEY": "check-KEY_0123456789", "LTIAAS_URL": "https://example.ltiaas.com"}

# (check id, the lines appended to ``from examples.django_app.settings import *``, environment)
CASES = [
    ("ltiaas_auth.E001", 'LTIAAS = {**LTIAAS, "API_KEYS": "typo"}', ENV),
    ("ltiaas_auth.E001", 'LTIAAS = ["not", "a", "dict"]', ENV),
    ("ltiaas_auth.E002", "", {"LTIAAS_URL": ENV["LTIAAS_URL"]}),
    ("ltiaas_auth.E003", "", {"LTIAAS_API_KEY": ENV["LTIAAS_API_KEY"]}),
    ("ltiaas_auth.E004", 'LTIAAS = {**LTIAAS, "URL": "http://lms.example.edu"}', ENV),
    ("ltiaas_auth.E004", 'LTIAAS = {**LTIAAS, "SOURCES": ["cookie"]}', ENV),
    ("ltiaas_auth.E004", 'LTIAAS = {**LTIAAS, "REQUIRE": "yes"}', ENV),
    ("ltiaas_auth.E004", 'LTIAAS = {**LTIAAS, "LMS_ORIGINS": ["canvas.example.edu"]}', ENV),
    ("ltiaas_auth.E004", 'LTIAAS = {**LTIAAS, "TIMEOUT": -1}', ENV),
    (
        "ltiaas_auth.W001",
        'MIDDLEWARE = [*MIDDLEWARE, "django.middleware.clickjacking.XFrameOptionsMiddleware"]',
        ENV,
    ),
    (
        "ltiaas_auth.W002",
        """CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"frame-ancestors": ["'self'"]}}""",
        ENV,
    ),
    ("ltiaas_auth.W002", """CSP_FRAME_ANCESTORS = ("'self'", "https://moodle.example.edu")""", ENV),
    (
        "ltiaas_auth.W003",
        f'MIDDLEWARE = ["{OURS}", "{SECURITY}", "{CSRF}"]\nSECURE_REFERRER_POLICY = "unsafe-url"',
        ENV,
    ),
    ("ltiaas_auth.W004", f'MIDDLEWARE = ["{OURS}", "{SECURITY}", "{CSRF}"]', ENV),
    ("ltiaas_auth.W005", f'MIDDLEWARE = ["{SECURITY}", "{CSRF}", "{OURS}"]', ENV),
    ("ltiaas_auth.W006", f'MIDDLEWARE = ["{SECURITY}", "{CSRF}"]', ENV),
    ("ltiaas_auth.W007", "del DEFAULT_EXCEPTION_REPORTER_FILTER", ENV),
    ("ltiaas_auth.W007", "del DEFAULT_EXCEPTION_REPORTER", ENV),
]

# Settings that look close to a warning and must stay silent.
SILENT = [
    """CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"frame-ancestors": ["'self'", "https://*.example.edu"]}}""",
    """CSP_FRAME_ANCESTORS = "'self' canvas.example.edu:443\"""",
    """SECURE_CSP = {"frame-ancestors": ["https:"]}""",
    'SECURE_REFERRER_POLICY = "unsafe-url"',  # set after ours: no-referrer stays on URL-ltik responses
]


def settings_module(lines: str, folder: str, name: str) -> ModuleType:
    """The module ``from examples.django_app.settings import *`` + ``lines``, written and imported."""
    path = Path(folder, f"{name}.py")
    path.write_text(f"from examples.django_app.settings import *\n{lines}\n")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_checks_on(module: ModuleType, env: dict[str, str]) -> list[str]:
    """The ids of the checks that fire with ``module``'s settings in force (what differs from the running
    settings is overridden; a setting the module deletes is deleted) and ``env`` as the environment."""
    values = {name: getattr(module, name) for name in dir(module) if name.isupper()}
    changed = {name: value for name, value in values.items() if getattr(settings, name, object()) != value}
    removed = [
        name
        for name in ("DEFAULT_EXCEPTION_REPORTER_FILTER", "DEFAULT_EXCEPTION_REPORTER")
        if name not in values
    ]
    removed_defaults = {name: getattr(global_settings, name) for name in removed}
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("LTIAAS_")}
    os.environ.update(env)
    try:
        with override_settings(**changed, **removed_defaults):
            ids = [message.id or "" for message in run_checks(tags=[Tags.security])]
            return [check_id for check_id in ids if check_id.startswith("ltiaas_auth.")]
    finally:
        for key in env:
            os.environ.pop(key, None)
        os.environ.update(saved)


def manage_check(lines: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``manage.py check`` in a subprocess, on the settings module of ``lines``."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "case_settings.py").write_text(f"from examples.django_app.settings import *\n{lines}\n")
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith(("LTIAAS_", "DJANGO_"))
        }
        environment.update(env, PYTHONPATH=os.pathsep.join([folder, environment.get("PYTHONPATH", "")]))
        return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(MANAGE), "check", "--settings=case_settings"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


class SystemCheckTests(SimpleTestCase):
    def test_each_check_fires_on_settings_made_to_trigger_it(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            for index, (check_id, lines, env) in enumerate(CASES):
                with self.subTest(check_id, settings=lines):
                    fired = run_checks_on(settings_module(lines, folder, f"case_{index}"), env)
                    self.assertIn(check_id, fired)

    def test_the_example_settings_are_silent(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            for index, lines in enumerate(["", *SILENT]):
                with self.subTest(settings=lines):
                    self.assertEqual(
                        run_checks_on(settings_module(lines, folder, f"silent_{index}"), ENV), []
                    )

    def test_manage_py_check(self) -> None:
        """The real command: silent on the example's settings; an error (exit status 1) without a key,
        whose message names the setting and holds no secret."""
        silent = manage_check("", ENV)
        self.assertEqual(silent.returncode, 0, silent.stderr)
        self.assertIn("System check identified no issues", silent.stdout)
        failing = manage_check('LTIAAS = {**LTIAAS, "URL": "http://lms.example.edu/?key=x"}', ENV)
        self.assertEqual(failing.returncode, 1)
        self.assertIn("(ltiaas_auth.E004)", failing.stderr)
        self.assertNotIn(ENV["LTIAAS_API_KEY"], failing.stderr + failing.stdout)
