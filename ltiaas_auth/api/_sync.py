"""``LtiaasClient``: the endpoints of ``_endpoints`` over a pooled, blocking httpx client. I/O only."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Self, TypeVar

from ..config import LtiaasConfig
from ..credentials import Launch
from . import _endpoints as ops
from ._base import ClientBase, Pages
from ._endpoints import Call, Listing
from ._exchange import MAX_BODY, Answer, AnswerTooLarge, AnswerTooSlow, Exchange, Failure
from ._http import attempt_deadline, client_options, httpx, sync_transport
from ._request import Request, credential_for, read

if TYPE_CHECKING:
    from ..credentials import Credential

__all__ = ["LtiaasClient"]

P = ParamSpec("P")
T = TypeVar("T")


def _method(op: Callable[P, Call[T]]) -> Callable[Concatenate[LtiaasClient, P], T]:
    def method(self: LtiaasClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._send(op(*args, **kwargs))

    return functools.update_wrapper(method, op)


def _listing(op: Callable[P, Listing[T]]) -> Callable[Concatenate[LtiaasClient, P], Iterator[T]]:
    def method(self: LtiaasClient, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        return self._iterate(op(*args, **kwargs))

    return functools.update_wrapper(method, op)


class LtiaasClient(ClientBase[httpx.Client]):
    """The LTIAAS API, typed and blocking. One per process: thread-safe, keep-alive connections pooled.

    Calls authenticate with the current credential (the middleware's launch, ``launch_context()``,
    ``service_context()``), checked against what the endpoint accepts before anything is sent;
    registration and platform calls use the API key alone. ``http`` is your own ``httpx.Client``
    (proxies, transports); ``close()`` never closes it.
    """

    def _new_http(self, config: LtiaasConfig) -> httpx.Client:
        return httpx.Client(transport=sync_transport(config), **client_options(config))

    def close(self) -> None:
        """Close the pooled connections (not those of an ``http=`` client you gave)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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

    def _send(self, call: Call[T]) -> T:
        credential = credential_for(call.endpoint, self.config)
        if call.endpoint.cached:
            assert isinstance(credential, Launch)  # credential_for checked the scheme
            return call.endpoint.parse(credential.idtoken())
        request = self._request(call, credential)
        answer = self._exchange(call, request)
        return read(call, answer.status, answer.content, scheme=request.scheme)

    def _iterate(self, call: Listing[T]) -> Iterator[T]:
        credential = credential_for(call.endpoint, self.config)  # now, not at the first next()
        return self._pages(call, credential)

    def _pages(self, call: Listing[T], credential: Credential) -> Iterator[T]:
        pages = Pages(self, call, credential)
        while (request := pages.request) is not None:
            items, next_url = pages.read(request, self._exchange(call, request))
            yield from items
            pages.follow(next_url)

    def _exchange(self, call: Call[Any], request: Request) -> Answer:
        exchange = Exchange(self.config, self.retry, call, request)
        while True:
            outcome = self._attempt(exchange, request)
            if isinstance(outcome, Answer):
                return outcome
            time.sleep(exchange.wait_or_raise(outcome))

    def _attempt(self, exchange: Exchange, request: Request) -> Answer | Failure:
        timeout = exchange.attempt_timeout()
        deadline = time.monotonic() + timeout
        token = attempt_deadline.set(deadline)  # our transport holds every socket operation to it
        try:
            sent = self._http_request(request, timeout)
            response = self._http.send(sent, stream=True, auth=None, follow_redirects=False)
            try:
                content = _read(response.iter_bytes(), deadline)
            finally:
                response.close()
        except (httpx.TimeoutException, AnswerTooSlow) as error:
            return exchange.failed(error, timed_out=True)
        except (httpx.RequestError, AnswerTooLarge) as error:
            return exchange.failed(error, timed_out=False)
        finally:
            attempt_deadline.reset(token)
        return exchange.answered(response.status_code, response.headers, content)


def _read(chunks: Iterator[bytes], deadline: float) -> bytes:
    """The body, refused past ``MAX_BODY`` or the attempt's deadline (a server dripping its answer)."""
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > MAX_BODY:
            raise AnswerTooLarge
        if time.monotonic() > deadline:
            raise AnswerTooSlow
    return bytes(body)
