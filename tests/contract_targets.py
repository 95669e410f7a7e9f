"""The contract suite's targets (tests/contract/): FakeLtiaas over HTTP, over TLS, and a real LTIAAS account.

The live target runs only when all three variables are set (otherwise its tests are skipped, saying which
are missing; their values are never printed):

- ``LTIAAS_CONTRACT_URL``: your LTIAAS origin, e.g. ``https://your.ltiaas.com``;
- ``LTIAAS_CONTRACT_API_KEY``: its API key;
- ``LTIAAS_CONTRACT_LTIK``: a fresh ltik (launch the tool from a course of a test LMS with grades and
  rosters enabled, and copy the ``ltik`` from the launch URL; it lives 24 hours).

Against a live account the suite reads the launch's idtoken, roster, line items and platforms, and creates,
grades and deletes one line item of its own (label ``ltiaas-auth contract``) in the launch's course.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fake_client import Answer, call

from ltiaas_auth.testing import FakeLtiaas

LIVE_VARIABLES = ("LTIAAS_CONTRACT_URL", "LTIAAS_CONTRACT_API_KEY", "LTIAAS_CONTRACT_LTIK")


@dataclass(frozen=True)
class Target:
    """One LTIAAS to check: its origin, its key and a launch's ltik (kept out of every repr)."""

    name: str
    base_url: str
    api_key: str = field(repr=False)
    ltik: str = field(repr=False)
    context: ssl.SSLContext | None = field(default=None, repr=False)
    fake: FakeLtiaas | None = field(default=None, repr=False)

    def request(self, method: str, path: str, *, auth: str | None = None, body: Any = None) -> Answer:
        return call(self.base_url, method, path, auth=auth, body=body, context=self.context)

    def launch_auth(self, ltik: str | None = None, api_key: str | None = None) -> str:
        return f"LTIK-AUTH-V2 {api_key or self.api_key}:{ltik or self.ltik}"

    def bearer(self, api_key: str | None = None) -> str:
        return f"Bearer {api_key or self.api_key}"

    def idtoken(self) -> dict[str, Any]:
        answer = self.request("GET", "/api/idtoken", auth=self.launch_auth())
        assert answer.status == 200, f"the launch's ltik was refused ({answer.status}): is it fresh?"
        return dict(answer.body)

    def service_auth(self) -> str | None:
        key = self.idtoken()["services"].get("serviceKey")
        return None if key is None else f"SERVICE-AUTH-V1 {self.api_key}:{key}"


def live_refusal(environ: dict[str, str] | os._Environ[str]) -> str | None:
    """Why the live target cannot run (the missing variables, by name), or None when it can."""
    missing = [name for name in LIVE_VARIABLES if not environ.get(name, "").strip()]
    if not missing:
        return None
    if len(missing) == len(LIVE_VARIABLES):
        return f"no live LTIAAS account: set {', '.join(LIVE_VARIABLES)} to run the contract against one"
    return f"live LTIAAS mode needs all of {', '.join(LIVE_VARIABLES)}; missing: {', '.join(missing)}"


def fake_target(name: str, tls: bool) -> Iterator[Target]:
    with FakeLtiaas(tls=tls) as fake:
        course = {"context_id": "contract-course", "context_title": "Contract course"}
        fake.launch(user_id="contract-teacher", roles=["Instructor"], **course)
        ltik = fake.launch(user_id="contract-learner", roles=["Learner"], **course)
        context = fake.ssl_context() if tls else None
        yield Target(name, fake.url, fake.api_key, ltik, context, fake)


def live_target(environ: dict[str, str] | os._Environ[str]) -> Target:
    """The real account the three variables name (call only when ``live_refusal`` is None)."""
    return Target(
        "live",
        environ["LTIAAS_CONTRACT_URL"].strip().rstrip("/"),
        environ["LTIAAS_CONTRACT_API_KEY"].strip(),
        environ["LTIAAS_CONTRACT_LTIK"].strip(),
    )
