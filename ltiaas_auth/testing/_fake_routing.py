"""What every route of the fake works with: the request as sent, the fake's settings, and the route table's
matching rule.

Routes match the raw path (still percent-encoded), segment by segment: a fixed segment must be sent exactly
as written (``/api/%69dtoken`` is not ``/api/idtoken``), while a path parameter is decoded once after the
split, so an id that is a URL encoded with ``/`` as ``%2F`` stays one segment. Leading slashes are collapsed:
the official Python client sends ``//api/...`` and LTIAAS serves it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Response

from ltiaas_auth.testing import _fake_validate as check
from ltiaas_auth.testing._fake_auth import Scheme
from ltiaas_auth.testing._fake_http import INVALID_AUTH, INVALID_LTIK, ApiError, bad_request
from ltiaas_auth.testing._fake_state import FakeState, Launch


@dataclass(frozen=True)
class Settings:
    """How one fake answers: its API key, whether it takes the legacy scheme, the tool a launch goes to."""

    api_key: str = ""
    legacy_v1: bool = True
    tool_url: str | None = None


@dataclass(frozen=True)
class Incoming:
    """One request as it came over the wire."""

    method: str  # as sent: a lower-case method stays lower-case
    path: str  # as sent, still percent-encoded
    query: Mapping[str, str]  # name -> first value, decoded
    repeated: tuple[str, ...]  # query names given more than once
    authorization: str | None
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class ApiRequest:
    """What a handler sees: decoded path parameters, the query (first values), the body, the credential."""

    params: tuple[str, ...]
    query: Mapping[str, str]
    body: bytes
    credential_launch: Launch | None
    settings: Settings = Settings()
    content_type: str | None = None

    @property
    def launch(self) -> Launch:
        """The launch behind a launch or service credential (routes that accept only those)."""
        if self.credential_launch is None:
            raise ApiError(401, INVALID_AUTH, INVALID_LTIK)
        return self.credential_launch

    def json(self, *, empty_ok: bool = False) -> dict[str, Any]:
        return check.json_object(self.body, empty_ok=empty_ok)

    def flag(self, name: str) -> bool:
        """A boolean query value; LTIAAS takes only the strings ``true`` and ``false``."""
        value = self.query.get(name, "false")
        if value not in ("true", "false"):
            raise bad_request(f"`{name}` must be true or false.")
        return value == "true"


Handler = Callable[[FakeState, ApiRequest], Response]
PARAM = None  # stands for a path parameter in a route pattern


@dataclass(frozen=True)
class Route:
    method: str
    pattern: tuple[str | None, ...]  # None stands for a path parameter
    accepts: frozenset[Scheme] | None  # None: a browser page, no Authorization
    handler: Handler

    def match(self, method: str, segments: Sequence[str]) -> tuple[str, ...] | None:
        """The decoded path parameters when `segments` (raw, still encoded) are this route's."""
        if method != self.method or len(segments) != len(self.pattern):
            return None
        params: list[str] = []
        for expected, segment in zip(self.pattern, segments, strict=True):
            if expected is None:
                params.append(unquote(segment))
            elif expected != segment:
                return None
        return tuple(params)


def segments(raw_path: str) -> list[str]:
    """The raw path's segments, leading slashes collapsed (``//api/x`` is ``/api/x``)."""
    return raw_path.lstrip("/").split("/")
