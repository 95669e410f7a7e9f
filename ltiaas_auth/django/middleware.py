"""``LtiaasMiddleware``: the gate of :mod:`ltiaas_auth._gate` as a Django ``MIDDLEWARE`` entry.

This module only reads ``request.META`` (and, for the ``form`` source, the body), keeps the launch current
for the request and answers rejections; every rule (sources, ambiguity, expiry, exemptions, preflights,
the prefetch, which errors are answered and how) is the gate's, so a request is answered exactly as the
WSGI and ASGI middleware answer it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import RequestDataTooBig
from django.urls import Resolver404, resolve

from .._gate import LAUNCH_KEY, answerable
from .._raised import Holder, close_slot, open_slot, slot_var
from ..context import credential_var
from ..extract import body_source
from . import conf
from .responses import rejection, url_ltik_headers

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

    from .._gate import Gate
    from ..credentials import Credential, Launch
    from ..errors import LtiaasAuthError

__all__ = ["LtiaasMiddleware"]

_SERVER_ERROR = 500


class LtiaasMiddleware:
    """Finds the request's ltik, refuses the request or makes its launch current, per the ``LTIAAS``
    setting. Sync and async capable, so Django's test clients, DRF's ``APIClient`` and live-server tests
    run through it as the servers do.

    ``request.ltiaas`` is the launch or None (also at ``request.META["ltiaas_auth.launch"]``); the
    launch is current (``current_launch()``) from here until Django closes the response, so a streamed
    body sees it while it is consumed. A request whose ltik was accepted passes Django's CSRF check (no
    other site can make a browser send an ltik); a request without one keeps it. An ``LtiaasAuthError``
    a view raises (LTIAAS failing, a role gate) is answered like a rejection, not as Django's 500. Place
    it below ``SecurityMiddleware`` and above ``CsrfViewMiddleware`` (checks ``ltiaas_auth.W004``/``W005``).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            # As django-cors-headers does: mark the instance, switch to __acall__ inside __call__.
            markcoroutinefunction(self)

    def __repr__(self) -> str:
        return f"LtiaasMiddleware({self.get_response!r})"

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        gate = (conf.current_settings or conf.current()).gate
        meta = request.META
        parsed = gate.warm(meta, request.path_info)  # parsed and confirmed already: nothing more to decide
        if parsed is None:
            return self._decide(request, gate)
        # The warm path: _enter, _Current and leave spelled out, as it is on every request's path.
        launch = parsed.launch
        request.ltiaas = launch  # type: ignore[attr-defined]
        meta[LAUNCH_KEY] = launch
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]  # see _enter
        token = credential_var.set(launch)
        # The error slot is the context's Holder (set once per context, as the WSGI middleware does)
        # pointed at this request's slot while the view runs.
        slot: list[Any] = [None]
        holder = slot_var.get()
        if holder.__class__ is Holder and holder.current is None:
            slot_token = None
        else:  # the context's first request, or its holder is busy (a request in progress, nested)
            inside = holder
            holder = Holder()
            held = slot_var.set(holder)
            slot_token = None if inside is None else held  # else kept for the next request
        holder.current = slot
        try:
            response = self.get_response(request)
        except BaseException:
            _reset(token)
            raise
        finally:
            holder.current = None
            if slot_token is not None:
                close_slot(slot_token)
        raised = slot[0]
        if raised is not None and response.status_code == _SERVER_ERROR:
            response = rejection(request, raised)
        response._resource_closers.append(partial(_reset, token))
        if "HTTP_AUTHORIZATION" not in meta:  # the ltik came in the URL
            url_ltik_headers(response, gate, True)
        return response

    def _decide(self, request: HttpRequest, gate: Gate) -> Any:
        """Every request the warm path does not take: the gate's whole verdict, the prefetch, then the
        view (or the rejection)."""
        launch, error, in_url = _cold(request, gate)
        if launch is not None and gate.prefetch_idtoken:
            error = gate.prefetch(launch)
        launch, refused = _verdict(request, gate, launch, error, in_url)
        if refused is not None:
            return refused
        with _Current(request, launch) as current:
            response = self.get_response(request)
        return current.leave(response, gate, in_url)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        gate, launch, error, in_url, warm = _admit(request)
        if not warm and launch is not None and gate.prefetch_idtoken:
            error = await gate.aprefetch(launch)
        launch, refused = _verdict(request, gate, launch, error, in_url)
        if refused is not None:
            return refused
        with _Current(request, launch) as current:
            response = await self.get_response(request)
        return current.leave(response, gate, in_url)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        """A view's ``LtiaasAuthError`` that the gate answers (LTIAAS refusing the ltik or failing, a role
        gate…) gets the rejection instead of Django's 500. Our programming errors (``NoLaunchContext``…)
        stay Django's 500, so they reach the error reports and the admins."""
        if answerable(exception):
            return rejection(request, exception)
        return None


def _admit(request: HttpRequest) -> tuple[Gate, Launch | None, LtiaasAuthError | None, bool, bool]:
    """``(gate, launch, error, in_url, warm)``: the gate of the current settings and its verdict on the
    request before any prefetch (no launch and no error for a request it lets through untouched);
    ``warm``: the launch was confirmed already (:meth:`Gate.warm`), so it needs no prefetch."""
    gate = (conf.current_settings or conf.current()).gate
    meta = request.META
    warm = gate.warm(meta, request.path_info)  # a token already parsed and confirmed: no more to decide
    if warm is not None:
        return gate, warm.launch, None, "HTTP_AUTHORIZATION" not in meta, True
    return (gate, *_cold(request, gate), False)


def _cold(request: HttpRequest, gate: Gate) -> tuple[Launch | None, LtiaasAuthError | None, bool]:
    """``(launch, error, in_url)``: the gate's verdict on a request the warm path did not take, before
    any prefetch (no launch and no error for a request it lets through untouched)."""
    method = request.method or ""
    if gate.passes(method, request.path_info, method == "OPTIONS" and _preflight(request)):
        return None, None, False
    return _evaluate(gate, request)


def _verdict(
    request: HttpRequest, gate: Gate, launch: Launch | None, error: LtiaasAuthError | None, in_url: bool
) -> tuple[Launch | None, HttpResponseBase | None]:
    """``(launch, None)`` to serve the request with ``launch`` current, or ``(None, rejection)``. A view
    marked ``@ltik_exempt`` is served without a launch instead of refused."""
    if error is None:
        return launch, None
    if _exempt_view(request):
        return None, None
    request.ltiaas = None  # type: ignore[attr-defined]  # for the middleware above ours
    return None, url_ltik_headers(rejection(request, error), gate, in_url)


def _preflight(request: HttpRequest) -> bool:
    """Whether an ``OPTIONS`` request is a CORS preflight (the gate lets those through untouched)."""
    meta = request.META
    return "HTTP_ORIGIN" in meta and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in meta


def _evaluate(gate: Gate, request: HttpRequest) -> tuple[Launch | None, LtiaasAuthError | None, bool]:
    """The gate's verdict on what ``request.META`` (and the body, for the body sources) holds."""
    meta = request.META
    authorization = meta.get("HTTP_AUTHORIZATION")
    header = meta.get("HTTP_X_LTIK")
    body = body_kind = None
    too_large = False
    content_type = meta.get("CONTENT_TYPE")
    if content_type and gate.body_sources:
        body_kind = body_source(content_type, gate.body_sources)
        if body_kind is not None:
            body, too_large = _read_body(request, gate.max_body_size)
    return gate.evaluate(
        (authorization,) if authorization else (),
        meta.get("QUERY_STRING", ""),
        (header,) if header else (),
        body,
        body_kind,
        body_too_large=too_large,
    )


def _read_body(request: HttpRequest, limit: int) -> tuple[bytes | None, bool]:
    """``(body, too_large)``: the body when its declared length is at most ``limit`` bytes, else None (not
    read). Django keeps what ``request.body`` read, so the view still gets ``request.POST``, ``FILES``
    and ``read()``."""
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None, False
    if size <= 0:
        return None, False
    if size > limit:
        return None, True
    try:
        return request.body, False
    except RequestDataTooBig:  # DATA_UPLOAD_MAX_MEMORY_SIZE below our limit: the view will say so
        return None, True


def _exempt_view(request: HttpRequest) -> bool:
    """Whether the view the request resolves to is marked ``@ltik_exempt``. Resolved only for a request
    the gate refused, so an accepted request costs nothing more."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    view: Any = match.func
    return bool(
        getattr(view, "ltik_exempt", False)
        or getattr(getattr(view, "view_class", None), "ltik_exempt", False)
        or getattr(getattr(view, "cls", None), "ltik_exempt", False)
    )


class _Current:
    """The launch published on the request and current while the view runs (``with``). A view that
    raises has the credential reset at once; otherwise :meth:`leave` hands the reset to the response,
    so a streamed body still sees the launch. An ``LtiaasAuthError`` Django turned into its bare 500 is
    caught in the slot meanwhile."""

    __slots__ = ("launch", "request", "slot", "slot_token", "token")

    def __init__(self, request: HttpRequest, launch: Launch | None) -> None:
        self.request = request
        self.launch = launch

    def __enter__(self) -> Self:
        self.token = _enter(self.request, self.launch)
        self.slot, self.slot_token = open_slot()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is not None:
                credential_var.reset(self.token)
        finally:
            close_slot(self.slot_token)

    def leave(self, response: HttpResponseBase, gate: Gate, in_url: bool) -> HttpResponseBase:
        request = self.request
        raised = self.slot[0]
        if raised is not None and response.status_code == _SERVER_ERROR:
            # Django (or a middleware below) turned an LtiaasAuthError into its bare 500: answer the error.
            response = rejection(request, raised)
        # Django calls the closers in response.close(): after a streamed body too.
        closers: list[Callable[[], object]] = response._resource_closers  # type: ignore[attr-defined]
        closers.append(partial(_reset, self.token))
        return url_ltik_headers(response, gate, in_url)


def _enter(request: HttpRequest, launch: Launch | None) -> Token[Credential | None]:
    """Publish the launch on the request and make it current; set to None when there is none, so a
    credential left in a reused context never shows."""
    request.ltiaas = launch  # type: ignore[attr-defined]
    if launch is not None:
        request.META[LAUNCH_KEY] = launch
        # Whoever sent an ltik holds it: no other site can make a browser send one, as with DRF's tokens.
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
    return credential_var.set(launch)


def _reset(token: Token[Credential | None]) -> None:
    """Undo ``_enter``. Under ASGI, Django closes the response through ``sync_to_async``, in a copy of
    the request's context where the token is foreign: setting the earlier value there is the same reset
    (asgiref copies it back into the request's context)."""
    try:
        credential_var.reset(token)
    except ValueError:
        credential_var.set(None if token.old_value is Token.MISSING else token.old_value)
