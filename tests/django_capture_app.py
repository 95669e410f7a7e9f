"""A Django project in one file, for tests/test_error_capture.py: views that meet ltiaas_auth's errors,
behind LtiaasMiddleware (WSGI) and LtiaasASGIMiddleware (ASGI), against a FakeLtiaas of its own. Prints
one JSON line: for each server, what each case answered (status, details.message).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django_helpers import configure_django
from werkzeug.test import Client

from ltiaas_auth import (
    LtiaasASGIMiddleware,
    LtiaasMiddleware,
    NoLaunchContext,
    RoleRequired,
    current_launch,
)
from ltiaas_auth.testing import FakeLtiaas


def idtoken(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": current_launch().idtoken()["user"]["id"]})


def role(request: HttpRequest) -> JsonResponse:
    raise RoleRequired()


def bug(request: HttpRequest) -> JsonResponse:
    raise NoLaunchContext()


urlpatterns = [path("idtoken", idtoken), path("role", role), path("bug", bug)]

configure_django(__name__, LOGGING_CONFIG=None)


def answer(status: int, body: bytes) -> list[Any]:
    try:
        return [status, json.loads(body)["details"]["message"]]
    except ValueError:
        return [status, None]


def cases(fake: FakeLtiaas) -> list[tuple[str, str, str, bool]]:
    """(name, path, ltik, whether LTIAAS fails its next answer)."""
    good = fake.launch()
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    return [
        ("upstream", "/idtoken", fake.launch(), True),
        ("refused", "/idtoken", forged, False),
        ("role", "/role", good, False),
        ("bug", "/bug", good, False),
    ]


def run_wsgi(fake: FakeLtiaas) -> dict[str, list[Any]]:
    from django.core.wsgi import get_wsgi_application

    client = Client(LtiaasMiddleware(get_wsgi_application(), fake.config(), prefetch_idtoken=False))
    results = {}
    for name, url, ltik, fail in cases(fake):
        if fail:
            fake.fail_next(503)
        with client.get(url, headers={"Authorization": f"Bearer {ltik}"}) as response:
            results[name] = answer(response.status_code, response.get_data())
    return results


def run_asgi(fake: FakeLtiaas) -> dict[str, list[Any]]:
    from django.core.asgi import get_asgi_application

    app = LtiaasASGIMiddleware(get_asgi_application(), config=fake.config(), prefetch_idtoken=False)
    results = {}

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for name, url, ltik, fail in cases(fake):
                if fail:
                    fake.fail_next(503)
                response = await client.get(url, headers={"Authorization": f"Bearer {ltik}"})
                results[name] = answer(response.status_code, response.content)

    asyncio.run(main())
    return results


if __name__ == "__main__":
    with FakeLtiaas() as fake:
        print(json.dumps({"wsgi": run_wsgi(fake), "asgi": run_asgi(fake)}))
