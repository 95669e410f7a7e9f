"""One HTTP request to a FakeLtiaas (or any LTIAAS) with the path sent byte for byte, over http or https.

``http.client`` sends the method and path exactly as given (no normalisation), so tests can send what a
careless client would: a lower-case method, a doubled slash, a percent-encoded route segment.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = field(repr=False)  # parsed JSON, other text, or None; may hold a service key: not in reprs
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def description(self) -> str | None:
        try:
            return str(self.body["details"]["description"])
        except (TypeError, KeyError):
            return None


def connection(base_url: str, context: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(str(parts.hostname), parts.port, timeout=10, context=context)
    return http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=10)


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    auth: str | None = None,
    body: Any = None,
    form: str | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    """One request on a fresh connection; `body` is sent as JSON (bytes as they are), `form` urlencoded."""
    headers = {} if auth is None else {"Authorization": auth}
    data: bytes | None = None
    if form is not None:
        data, headers["Content-Type"] = form.encode(), "application/x-www-form-urlencoded"
    elif body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    link = connection(base_url, context)
    try:
        link.request(method, path, body=data, headers=headers)
        response = link.getresponse()
        raw = response.read()
    finally:
        link.close()
    answer_headers = {name.lower(): value for name, value in response.getheaders()}
    parsed: Any = None
    if raw:
        is_json = answer_headers.get("content-type", "").startswith("application/json")
        parsed = json.loads(raw) if is_json else raw.decode("utf-8", "replace")
    return Answer(response.status, parsed, answer_headers)
