"""The ``LtiaasAuthError`` raised during the current request, for the middleware to answer.

Frameworks (Flask, Django, Starlette) catch a view's exception and answer their own bare 500, so by the
time the response starts the error itself is gone. The middleware therefore opens a slot per request
(:func:`open_slot`), every ``LtiaasAuthError`` it would answer (``answered_at_edge()``) is recorded there
when it is made or re-raised (:func:`record`), and a 500 that starts after it is replaced by the error's
rejection. The slot is a one-item list on a ``ContextVar``: a copied context (Django's
``sync_to_async``, ``asyncio.to_thread``) shares the list, so a view running in a worker thread records
into its request's slot.

This module imports nothing of the error tree (which imports it): the rule is the error's own method.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .errors import LtiaasAuthError

__all__ = ["Holder", "Slot", "close_slot", "open_slot", "record", "slot_var"]


class Slot(Protocol):
    """Where a request's error is recorded: item 0 (a ``[None]`` list, or an adapter's own request object
    that keeps its state beside it)."""

    def __getitem__(self, index: int, /) -> Any: ...

    def __setitem__(self, index: int, value: Any, /) -> None: ...


slot_var: ContextVar[Slot | None] = ContextVar("ltiaas_auth.raised", default=None)


class Holder:
    """A slot that a context keeps between requests, so that the WSGI and ASGI middleware pay no
    ``ContextVar`` set and reset per request for it: ``current`` is the slot of the request the context
    serves now (None between requests), and ``holder[0] = error`` records into that one.

    A context copied during a request (``asyncio.to_thread``, Django's ``sync_to_async``) shares the
    holder, so the errors raised there reach their request. One kept alive after its request ended (a
    background task) records into whatever request its original context serves then, if any; that only
    ever matters to a request which itself ends in a framework's bare 500.
    """

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: Slot | None = None

    def __getitem__(self, index: int, /) -> Any:
        current = self.current
        return None if current is None else current[index]

    def __setitem__(self, index: int, value: Any, /) -> None:
        current = self.current
        if current is not None:
            current[index] = value


def open_slot() -> tuple[Slot, Token[Slot | None]]:
    """A fresh slot for one request, and the token that closes it (``close_slot``)."""
    slot: list[Any] = [None]
    return slot, slot_var.set(slot)


def close_slot(token: Token[Slot | None]) -> None:
    """Close the request's slot; from another context (a server closing from elsewhere) there is
    nothing to undo."""
    try:  # noqa: SIM105 - on the per-request path
        slot_var.reset(token)
    except ValueError:
        pass


def record(error: LtiaasAuthError) -> None:
    """Note ``error`` as raised during the current request, if the middleware would answer it (no-op
    outside a request). Called for every ``LtiaasAuthError`` made, and where a shared one is re-raised
    in another request (a single-flight fetch's followers)."""
    slot = slot_var.get()
    if slot is not None and error.answered_at_edge():
        slot[0] = error
