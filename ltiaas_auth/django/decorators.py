"""``@ltik_exempt`` and ``@launch_required(roles=…)`` for function and class-based views, sync and async."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.views import View

from ..errors import MissingLtik
from ..roles import Roles

if TYPE_CHECKING:
    from django.http import HttpRequest

    from ..credentials import Launch

__all__ = ["launch_required", "ltik_exempt"]

V = TypeVar("V", bound=Callable[..., Any])
C = TypeVar("C", bound=type[View])


def ltik_exempt(view: V) -> V:
    """The view needs no ltik: the middleware never refuses a request to it. A valid ltik still makes
    its launch current (``request.ltiaas``); a missing, invalid or refused one leaves it None.

    Decorate a function view, a class-based view (the class), or the result of ``View.as_view()``. For
    whole URL prefixes, ``LTIAAS["EXEMPT"]`` globs skip the gate altogether.
    """
    view.ltik_exempt = True  # type: ignore[attr-defined]
    return view


def _launch(request: HttpRequest) -> Launch:
    launch: Launch | None = getattr(request, "ltiaas", None)
    if launch is None:
        raise MissingLtik()
    return launch


@overload
def launch_required(view: V, /) -> V: ...
@overload
def launch_required(*, roles: Iterable[str] = ()) -> Callable[[V], V]: ...


def launch_required(view: Any = None, /, *, roles: Iterable[str] = ()) -> Any:
    """The view runs only inside a launch (401 ``MISSING_LTIK`` otherwise, for views reached with
    ``LTIAAS["REQUIRE"] = False``), and, with ``roles``, only for a user holding at least one of them in
    the course (403 ``ROLE_REQUIRED``): ``Roles.require_any``'s rule, on the launch's idtoken (fetched
    once per launch; ``aidtoken()`` in async views).

    ``@launch_required``, ``@launch_required(roles=["Instructor"])``; on a function view or a
    class-based view (the class: its ``dispatch`` is wrapped), sync or async.
    """
    wanted = (roles,) if isinstance(roles, str) else tuple(roles)

    def decorate(target: Any) -> Any:
        if isinstance(target, type) and issubclass(target, View):
            return _decorate_class(target, wanted)
        return _decorate_function(target, wanted)

    return decorate if view is None else decorate(view)


def _decorate_function(view: V, roles: tuple[str, ...]) -> V:
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            launch = _launch(request)
            if roles:
                Roles.from_idtoken(await launch.aidtoken()).require_any(*roles)
            return await view(request, *args, **kwargs)

        return markcoroutinefunction(async_view)  # type: ignore[return-value]

    @functools.wraps(view)
    def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        launch = _launch(request)
        if roles:
            Roles.from_idtoken(launch.idtoken()).require_any(*roles)
        return view(request, *args, **kwargs)

    return sync_view  # type: ignore[return-value]


def _decorate_class(cls: C, roles: tuple[str, ...]) -> C:
    dispatch: Any = cls.dispatch
    if cls.view_is_async:

        @functools.wraps(dispatch)
        async def async_dispatch(self: View, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            launch = _launch(request)
            if roles:
                Roles.from_idtoken(await launch.aidtoken()).require_any(*roles)
            return await dispatch(self, request, *args, **kwargs)

        cls.dispatch = async_dispatch  # type: ignore[method-assign,assignment]
        return cls

    @functools.wraps(dispatch)
    def sync_dispatch(self: View, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        launch = _launch(request)
        if roles:
            Roles.from_idtoken(launch.idtoken()).require_any(*roles)
        return dispatch(self, request, *args, **kwargs)

    cls.dispatch = sync_dispatch  # type: ignore[method-assign]
    return cls
