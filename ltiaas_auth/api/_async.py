"""``AsyncLtiaasClient``: the endpoints of ``_endpoints`` over a pooled httpx ``AsyncClient``. I/O only.

Works under asyncio and trio (through AnyIO, which httpx already depends on): each attempt runs under
``anyio.fail_after``, so its deadline holds whatever the server does.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Self, TypeVar

import anyio

from ..config import LtiaasConfig
from ..credentials import Launch
from . import _endpoints as ops
from ._base import ClientBase, Pages
from ._endpoints import Call, Listing
from ._exchange import MAX_BODY, Answer, AnswerTooLarge, Exchange, Failure
from ._http import client_options, httpx
from ._request import Request, credential_for, read

if TYPE_CHECKING:
    from ..credentials import Credential

__all__ = ["AsyncLtiaasClient"]

P = ParamSpec("P")
T = TypeVar("T")


def _method(
    op: Callable[P, Call[T]],
) -> Callable[Concatenate[AsyncLtiaasClient, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncLtiaasClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._send(op(*args, **kwargs))

    return functools.update_wrapper(method, op)


def _listing(op: Callable[P, Listing[T]]) -> Callable[Concatenate[AsyncLtiaasClient, P], AsyncIterator[T]]:
    def method(self: AsyncLtiaasClient, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        return self._iterate(op(*args, **kwargs))

    return functools.update_wrapper(method, op)


class AsyncLtiaasClient(ClientBase[httpx.AsyncClient]):
    """The LTIAAS API, typed, for asyncio and trio: the same methods as ``LtiaasClient``, awaitable
    (listings are async iterators). One per event loop or app lifespan; close it with ``aclose()`` or
    ``async with``. ``http`` is your own ``httpx.AsyncClient``; ``aclose()`` never closes it.
    """

    def _new_http(self, config: LtiaasConfig) -> httpx.AsyncClient:
        return httpx.AsyncClient(**client_options(config))

    async def aclose(self) -> None:
        """Close the pooled connections (not those of an ``http=`` client you gave)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # --- the endpoints (described in _endpoints; the docstrings are theirs)

    idtoken = _method(ops.idtoken)
    raw_idtoken = _method(ops.raw_idtoken)
    memberships = _listing(ops.memberships)
    line_items = _listing(ops.line_items)
    create_line_item = _method(ops.create_line_item)
    line_item = _method(ops.line_item)
    update_line_item = _method(ops.update_line_item)
    delete_line_item = _method(ops.delete_line_item)
    submit_score = _method(ops.submit_score)
    results = _listing(ops.results)
    deep_linking_form = _method(ops.deep_linking_form)
    deep_linking_components = _method(ops.deep_linking_components)
    registration = _method(ops.registration)
    complete_registration = _method(ops.complete_registration)
    platforms = _listing(ops.platforms)
    platform = _method(ops.platform)
    register_platform = _method(ops.register_platform)
    update_platform = _method(ops.update_platform)
    delete_platform = _method(ops.delete_platform)
    activate_platform = _method(ops.activate_platform)
    deactivate_platform = _method(ops.deactivate_platform)

    # --- I/O

    async def _send(self, call: Call[T]) -> T:
        credential = credential_for(call.endpoint, self.config)
        if call.endpoint.cached:
            assert isinstance(credential, Launch)  # credential_for checked the scheme
            return call.endpoint.parse(await credential.aidtoken())
        request = self._request(call, credential)
        answer = await self._exchange(call, request)
        return read(call, answer.status, answer.content, scheme=request.scheme)

    def _iterate(self, call: Listing[T]) -> AsyncIterator[T]:
        credential = credential_for(call.endpoint, self.config)  # now, not at the first iteration
        return self._pages(call, credential)

    async def _pages(self, call: Listing[T], credential: Credential) -> AsyncIterator[T]:
        pages = Pages(self, call, credential)
        while (request := pages.request) is not None:
            items, next_url = pages.read(request, await self._exchange(call, request))
            for item in items:
                yield item
            pages.follow(next_url)

    async def _exchange(self, call: Call[Any], request: Request) -> Answer:
        exchange = Exchange(self.config, self.retry, call, request)
        while True:
            outcome = await self._attempt(exchange, request)
            if isinstance(outcome, Answer):
                return outcome
            await anyio.sleep(exchange.wait_or_raise(outcome))

    async def _attempt(self, exchange: Exchange, request: Request) -> Answer | Failure:
        timeout = exchange.attempt_timeout()
        try:
            with anyio.fail_after(timeout):
                sent = self._http_request(request, timeout)
                response = await self._http.send(sent, stream=True, auth=None, follow_redirects=False)
                try:
                    content = await _read(response.aiter_bytes())
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException) as error:
            return exchange.failed(error, timed_out=True)
        except (httpx.RequestError, AnswerTooLarge) as error:
            return exchange.failed(error, timed_out=False)
        return exchange.answered(response.status_code, response.headers, content)


async def _read(chunks: AsyncIterator[bytes]) -> bytes:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_BODY:
            raise AnswerTooLarge
    return bytes(body)
