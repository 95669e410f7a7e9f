"""The example's views: who the current launch is, and a streamed body that still sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse

from ltiaas_auth import current_launch


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def whoami(request: HttpRequest) -> JsonResponse:
    # A sync view: under ASGI Django runs it in a thread that carries the request's context.
    launch = current_launch()
    return JsonResponse({"ltik": launch.ltik.fingerprint, "user": launch.idtoken()["user"]["id"]})


async def awhoami(request: HttpRequest) -> JsonResponse:
    launch = current_launch()
    idtoken = await launch.aidtoken()
    return JsonResponse({"ltik": launch.ltik.fingerprint, "user": idtoken["user"]["id"]})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    """For WSGI: a sync iterator, which the server drains after the view has returned."""

    def lines() -> Iterator[str]:
        for number in range(3):
            yield f"{number} {current_launch().ltik.fingerprint}\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    """For ASGI: an async iterator (Django warns when it has to drain a sync one under ASGI)."""

    async def lines() -> AsyncIterator[str]:
        for number in range(3):
            yield f"{number} {current_launch().ltik.fingerprint}\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")
