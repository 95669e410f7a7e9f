"""From a :class:`Call` to the exact request to send, and from LTIAAS's answer to the result: pure, no I/O.

Both clients send what :func:`build` makes and read answers with :func:`read`, so what goes on the wire is
decided here alone: every path id percent-encoded with nothing left safe (an id can never reach another
route), query values encoded exactly once, booleans as ``true``/``false``, unset values left out, never
a doubled slash, and the credential checked against the endpoint's schemes before anything exists to send.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import quote

from ..context import credential_var
from ..credentials import ApiKeyCredential, Credential, Launch, ServiceCredential
from ..errors import ForeignOriginError, NoLaunchContext, UpstreamError, upstream_error
from ..headers import API_KEY_SCHEME, LAUNCH_SCHEME, SERVICE_SCHEME
from ._endpoints import PLATFORMS, Call, Endpoint, QueryValue

if TYPE_CHECKING:
    from ..config import LtiaasConfig

T = TypeVar("T")

__all__ = ["Request", "build", "check_platforms_path", "credential_for", "page", "read"]

_SCHEME_NAMES = {
    LAUNCH_SCHEME: f"a launch ({LAUNCH_SCHEME}: inside the middleware or launch_context())",
    SERVICE_SCHEME: f"a service key ({SERVICE_SCHEME}: service_context())",
    API_KEY_SCHEME: f"the API key ({API_KEY_SCHEME})",
}
_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


class Request(NamedTuple):
    """What to send: ``url`` is absolute, on the config's origin. ``repr`` never shows the credential
    (a ``Credential``'s own repr names only its origin) nor the body. A named tuple: one is made per call."""

    method: str
    url: str
    path: str  # the URL's path, for log lines (never the query)
    credential: Credential
    content: bytes | None = None
    scheme: str = ""  # the Authorization scheme, for classifying LTIAAS's answer

    def __repr__(self) -> str:
        return f"Request(method={self.method!r}, url={self.url!r}, credential={self.credential!r})"

    def headers(self) -> dict[str, str]:
        """The headers to send; built at the last moment so no long-lived object holds the credential."""
        headers = {"Authorization": self.credential.authorization, "Accept": "application/json"}
        if self.content is not None:
            headers["Content-Type"] = "application/json"
        return headers


def check_platforms_path(path: str) -> str:
    """The ``platforms_path=`` option: an absolute path of plain segments (``/admin/platforms``)."""
    if (
        not isinstance(path, str)
        or not _PATH.fullmatch(path)
        or any(s in (".", "..") for s in path.split("/"))
    ):
        raise ValueError("platforms_path must be a path such as '/admin/platforms' or '/api/platforms'.")
    return path


def credential_for(endpoint: Endpoint[Any], config: LtiaasConfig) -> Credential:
    """The credential ``endpoint`` is called with: the API key for API-key-only endpoints, else the
    current credential, which must be of a scheme the endpoint accepts and of ``config``'s account.

    Raises before anything is sent: ``NoLaunchContext`` naming the schemes the endpoint takes, or
    ``ForeignOriginError`` for a credential of another LTIAAS account or origin."""
    if endpoint.schemes == (API_KEY_SCHEME,):
        return ApiKeyCredential(config)
    credential = credential_var.get()
    scheme = _scheme_of(credential)
    if credential is None or scheme not in endpoint.schemes:
        takes = " or ".join(_SCHEME_NAMES[s] for s in endpoint.schemes)
        has = (
            f"the current credential is {_SCHEME_NAMES[scheme]}"
            if scheme
            else "there is no current credential"
        )
        raise NoLaunchContext(f"{endpoint.name}() needs {takes}; {has}.")
    other = credential.config
    if other is not config and (
        other.origin != config.origin or not hmac.compare_digest(other.api_key, config.api_key)
    ):
        raise ForeignOriginError(
            f"The current credential belongs to another LTIAAS account than {config.base_url}."
        )
    return credential


def _scheme_of(credential: Credential | None) -> str | None:
    if isinstance(credential, Launch):
        return LAUNCH_SCHEME
    if isinstance(credential, ServiceCredential):
        return SERVICE_SCHEME
    if isinstance(credential, ApiKeyCredential):
        return API_KEY_SCHEME
    return None


def build(
    call: Call[Any],
    config: LtiaasConfig,
    credential: Credential,
    *,
    platforms_path: str,
    next_url: str | None = None,
) -> Request:
    """The request for ``call``; with ``next_url`` (a listing's ``next`` link) the same endpoint with
    ``url=<next>`` alone, so the LMS's URL goes back to LTIAAS and is never requested directly."""
    endpoint = call.endpoint
    try:
        path = endpoint.path
        if path.startswith(PLATFORMS):
            path = platforms_path + path[len(PLATFORMS) :]
        if call.ids:
            path = path.format(*map(_segment, call.ids))
        pairs = (("url", next_url),) if next_url is not None else call.query
        # the names are this package's own camelCase constants; only the values need encoding
        query = "&".join(f"{name}={_query_value(value)}" for name, value in pairs if value is not None)
        content = None
        if call.body is not None:
            content = json.dumps(
                call.body, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode()
    except UnicodeEncodeError:
        raise ValueError(f"{endpoint.name}(): a value is not valid Unicode (a lone surrogate?).") from None
    url = config.base_url + path + (f"?{query}" if query else "")
    return Request(
        endpoint.method, url, path, credential, content, credential.authorization.partition(" ")[0]
    )


def _segment(id: str) -> str:
    """A path id as one segment: everything percent-encoded (``/``, ``?``, ``#``, ``%``…)."""
    if not isinstance(id, str) or not id or id in (".", ".."):
        raise ValueError("An id must be a non-empty string other than '.' and '..'.")
    return quote(id, safe="")


def _query_value(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return quote(str(value), safe="")


def read(call: Call[T], status: int, content: bytes, *, scheme: str) -> T:
    """The result of a 2xx answer (``call.endpoint.parse`` of its JSON). An answer that is not what the
    endpoint promises raises the classified ``UpstreamError``; non-2xx answers are classified by the
    caller (through ``clients._answer``), never here."""
    try:
        return call.endpoint.parse(_json(content))
    except ValueError as error:
        raise _unexpected(call, status, scheme, error) from None


def page(call: Call[T], status: int, content: bytes, *, scheme: str) -> tuple[list[T], str | None]:
    """A listing page's items (parsed) and its ``next`` link, or None on the last page."""
    key = call.endpoint.items
    try:
        body = _json(content)
        if not isinstance(body, Mapping) or key is None or not isinstance(body.get(key), list):
            raise ValueError(f"no `{key}` list")
        items = [call.endpoint.parse(item) for item in body[key]]
    except ValueError as error:
        raise _unexpected(call, status, scheme, error) from None
    return items, next_link(body)


def _unexpected(call: Call[Any], status: int, scheme: str, error: ValueError) -> UpstreamError:
    """The classified error for a 2xx answer that is not what ``call``'s endpoint promises."""
    return upstream_error(
        status,
        None,
        scheme=scheme,
        description=f"LTIAAS answered {call.endpoint.name}() unexpectedly: {error}.",
    )


def next_link(body: Mapping[str, Any]) -> str | None:
    link = body.get("next")
    return link if isinstance(link, str) and link else None


def _json(content: bytes) -> Any:
    if not content or content.isspace():
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        raise ValueError("the body is not JSON") from None
