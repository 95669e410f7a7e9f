"""The example tool's views: who the launch is (sync and async), streams that still see it, a role gate on a
function and on a class-based view, a server-rendered page whose form carries the ltik, a DRF endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import cache
from typing import Any, cast

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views import View
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ltiaas_auth import Launch, LtiaasConfig, current_launch
from ltiaas_auth.api import LtiaasClient
from ltiaas_auth.django import LtiRequest, LtiUser, launch_required, ltik_exempt


@cache
def client(config: LtiaasConfig) -> LtiaasClient:
    """One API client per config (thread-safe, pooled connections): the config is the ``LTIAAS``
    setting's, the same one the middleware's launches carry."""
    return LtiaasClient(config)


@ltik_exempt
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def whoami(request: HttpRequest) -> JsonResponse:
    # The middleware has fetched (and cached) the idtoken: LTIAAS accepted this ltik.
    launch = current_launch()
    return JsonResponse({"ltik": launch.ltik.fingerprint, "user": launch.idtoken()["user"]["id"]})


async def awhoami(request: HttpRequest) -> JsonResponse:
    launch = current_launch()
    idtoken = await launch.aidtoken()  # async views: never the blocking idtoken()
    return JsonResponse({"ltik": launch.ltik.fingerprint, "user": idtoken["user"]["id"]})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    """A sync iterator, consumed after the view has returned: the launch stays current until Django
    closes the response."""

    def lines() -> Iterator[str]:
        for number in range(3):
            yield f"{number} {current_launch().ltik.fingerprint}\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    """An async iterator, for ASGI (Django warns when it has to drain a sync one there)."""

    async def lines() -> AsyncIterator[str]:
        for number in range(3):
            yield f"{number} {current_launch().ltik.fingerprint}\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")


@launch_required(roles=["Instructor", "TeachingAssistant"])
def grades(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"grades": "for instructors", "user": current_launch().idtoken()["user"]["id"]})


@launch_required(roles=["Instructor"])
async def agrades(request: HttpRequest) -> JsonResponse:
    idtoken = await current_launch().aidtoken()
    return JsonResponse({"grades": "for instructors", "user": idtoken["user"]["id"]})


@launch_required(roles=["Instructor"])
class TeachView(View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"teaching": current_launch().ltik.fingerprint})


def roster(request: HttpRequest) -> JsonResponse:
    """The course's roster, with the request's launch. An ``UpstreamError`` (LTIAAS failing) is answered
    by the middleware in LTIAAS's shape, never as Django's 500."""
    members = client(current_launch().config).memberships()
    return JsonResponse({"members": [member.name or member.user_id for member in members]})


@launch_required(roles=["Instructor"])
def grade(request: HttpRequest) -> JsonResponse:
    """Grade passback: a line item, then a score for a learner."""
    api = client(current_launch().config)
    item = api.create_line_item(label="Quiz 1", score_maximum=10)
    assert item.id is not None  # LTIAAS gave the new line item its id
    api.submit_score(
        item.id,
        user_id=request.POST["user_id"],
        score_given=float(request.POST["score"]),
        score_maximum=10,
        activity_progress="Completed",
        grading_progress="FullyGraded",
    )
    return JsonResponse({"line_item": item.id})


@ltik_exempt
def feedback(request: LtiRequest) -> JsonResponse:
    """Open to anyone (no ltik needed), so Django's CSRF check guards it unless an ltik proves the POST."""
    return JsonResponse({"thanks": True, "launch": request.ltiaas is not None})


def page(request: HttpRequest) -> HttpResponse:
    """A server-rendered page: its form posts the ltik back in a hidden field (the ``form`` source), so
    the POST is authenticated and passes CSRF without a cookie."""
    return render(request, "tool/page.html", {"ltik": current_launch().ltik.raw})


def submit(request: HttpRequest) -> JsonResponse:
    """The form's target: the middleware read the body for its ltik, and the view still gets it all."""
    answer: dict[str, Any] = {
        "score": request.POST.get("score"),
        "user": current_launch().idtoken()["user"]["id"],
    }
    if request.FILES:
        answer["files"] = {
            name: upload.size for name, upload in request.FILES.items() if not isinstance(upload, list)
        }
    return JsonResponse(answer)


class Me(APIView):
    """DRF: ``request.user`` is an ``LtiUser``, ``request.auth`` the launch."""

    def get(self, request: Request) -> Response:
        user, launch = cast(LtiUser, request.user), cast(Launch, request.auth)
        return Response(
            {
                "user": user.id,
                "name": user.name,
                "instructor": user.roles.is_instructor,
                "ltik": launch.ltik.fingerprint,
            }
        )

    def post(self, request: Request) -> Response:
        return Response({"received": dict(request.data), "user": cast(LtiUser, request.user).id})


def boom(request: HttpRequest) -> Any:
    """A bug, to show that the 500 page and the admins' mail hold no ltik."""
    ltik = request.GET.get("ltik")  # a local variable holding it: the report must mask that too
    raise RuntimeError(f"something broke while handling {len(ltik or '')} characters")
