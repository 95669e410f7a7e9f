"""What both clients share besides the endpoints: the config, the retry policy, where platforms live, the
pooled httpx client they own or were given, the httpx request of an attempt and the walk through a
listing's pages."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from ..config import LtiaasConfig
from ._exchange import RetryPolicy
from ._http import httpx
from ._request import Request, build, check_platforms_path, page

if TYPE_CHECKING:
    from ..credentials import Credential
    from ._endpoints import Call, Listing
    from ._exchange import Answer

__all__ = ["ClientBase", "Pages", "httpx_timeout"]

H = TypeVar("H", "httpx.Client", "httpx.AsyncClient")
T = TypeVar("T")


class ClientBase(Generic[H]):
    """What both clients hold: the config, the retry policy, where platforms live and the httpx client
    (``http=`` yours, never closed by us; else one of ours, made by ``_new_http``)."""

    def __init__(
        self,
        config: LtiaasConfig,
        *,
        max_retries: int = 2,
        max_retry_wait: float = 30.0,
        platforms_path: str = "/admin/platforms",
        http: H | None = None,
    ) -> None:
        if not isinstance(config, LtiaasConfig):
            raise TypeError("config must be an LtiaasConfig.")
        self.config = config
        self.retry = RetryPolicy(max_retries, max_retry_wait)
        self.platforms_path = check_platforms_path(platforms_path)
        self._owns_http = http is None
        self._http: H = http if http is not None else self._new_http(config)

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """A client for ``LtiaasConfig.from_env()`` (``LTIAAS_API_KEY``, ``LTIAAS_URL``…)."""
        return cls(LtiaasConfig.from_env(), **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r})"

    def _new_http(self, config: LtiaasConfig) -> H:
        """The pooled httpx client made when none is given."""
        raise NotImplementedError

    def _request(self, call: Call[Any], credential: Credential, next_url: str | None = None) -> Request:
        return build(call, self.config, credential, platforms_path=self.platforms_path, next_url=next_url)

    def _http_request(self, request: Request, timeout: float) -> httpx.Request:
        """httpx's request for one attempt at ``request``, held to ``timeout`` seconds."""
        return self._http.build_request(
            request.method,
            request.url,
            headers=request.headers(),
            content=request.content,
            timeout=httpx_timeout(timeout),
        )


class Pages(Generic[T]):
    """A listing's requests, page after page: each ``next`` link is followed once, so a listing ends at
    its last page or when a link comes back (a loop), never running forever."""

    __slots__ = ("_call", "_client", "_credential", "_seen", "request")

    def __init__(self, client: ClientBase[Any], call: Listing[T], credential: Credential) -> None:
        self._client = client
        self._call = call
        self._credential = credential
        self._seen: set[str] = set()
        #: The request for the next page, or None after the last.
        self.request: Request | None = client._request(call, credential)

    def read(self, request: Request, answer: Answer) -> tuple[list[T], str | None]:
        """The items of the page ``request`` got as ``answer``, and its ``next`` link."""
        return page(self._call, answer.status, answer.content, scheme=request.scheme)

    def follow(self, next_url: str | None) -> None:
        """Make ``request`` the next page's (None when there is none or the link was followed before)."""
        if next_url is None or next_url in self._seen:
            self.request = None
            return
        self._seen.add(next_url)
        self.request = self._client._request(self._call, self._credential, next_url)


@functools.lru_cache(maxsize=64)
def httpx_timeout(seconds: float) -> httpx.Timeout:
    """httpx's timeout object for ``seconds`` (most calls use the config's: made once)."""
    return httpx.Timeout(seconds)
