"""Finding the ltik in a request: pure functions on header values, query strings and bodies.

No web framework and no I/O here: the WSGI and ASGI adapters hand over what they read, already as ``str``
(header values and query strings decoded as latin-1, as WSGI does) or, for bodies, as ``bytes``. Each
finder returns only non-empty values, because an empty value counts as absent. :func:`find_ltik` combines
the enabled sources: every one is read, and all values found must be the same token, else
``AmbiguousLtik`` — so the app can never read a different ltik from the one the middleware checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import unquote_plus

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from .errors import AmbiguousLtik

__all__ = [
    "BODY_SOURCES",
    "SOURCES",
    "body_source",
    "find_ltik",
    "from_authorization",
    "from_form",
    "from_header",
    "from_json",
    "from_multipart",
    "from_query",
    "ltiks_in_query",
]

#: Every source name the middleware accepts: the three it reads by default, then the opt-in body ones.
SOURCES = ("authorization", "query", "header", "form", "json")
#: The sources that need the request body.
BODY_SOURCES = frozenset({"form", "json"})

_FORM_TYPE = "application/x-www-form-urlencoded"
_JSON_TYPE = "application/json"
_MULTIPART_TYPE = "multipart/form-data"
_MULTIPART_PREFIX = "multipart:"


def from_authorization(value: str) -> str | None:
    """The ltik in an ``Authorization`` value: ``Bearer <ltik>`` or ``LTIK-AUTH-V1 Token=<ltik>[, …]``.

    Scheme and parameter names are case-insensitive; any other scheme (``Basic``, ``LTIK-AUTH-V2``…) is
    not an ltik source and gives None. Two different ``Token=`` parameters are ``AmbiguousLtik``.
    """
    scheme, _, credentials = value.partition(" ")  # RFC 7235: one or more SP after the scheme
    if scheme == "Bearer" or scheme.lower() == "bearer":  # the usual spelling skips lower()
        return credentials.strip() or None
    if scheme.lower() != "ltik-auth-v1":
        return None
    found: str | None = None
    for param in credentials.strip().split(","):
        name, _, token = param.partition("=")
        if name.strip().lower() == "token":
            ltik = _unquote_param(token.strip())
            if ltik and ltik != found:
                if found is not None:
                    raise AmbiguousLtik()
                found = ltik
    return found


def from_query(query: str) -> list[str]:
    """Every non-empty ``ltik`` value of a query string (or a form body), percent- and ``+``-decoded.

    Only ``&`` separates fields, as in ``urllib.parse`` and werkzeug. A name matches after decoding, so
    ``%6Ctik`` counts too: the app's own query parser would read it as ``ltik``.
    """
    values: list[str] = []
    for field in query.split("&"):
        name, _, value = field.partition("=")
        if name != "ltik" and ("%" not in name or unquote_plus(name) != "ltik"):
            continue
        if value:
            decoded = unquote_plus(value)
            if decoded:
                values.append(decoded)
    return values


def ltiks_in_query(query: str) -> list[str]:
    """:func:`from_query`, after a cheap test that lets most query strings skip parsing: a name can only
    decode to ``ltik`` if the string contains ``ltik`` or a percent escape."""
    if "ltik" in query or "%" in query:
        return from_query(query)
    return []


def from_header(value: str) -> list[str]:
    """The non-empty values of an ``X-Ltik`` header; servers join repeated headers with commas, and a
    compact JWS has none, so each comma-separated item is one value."""
    return [item for item in (part.strip() for part in value.split(",")) if item]


def from_form(body: bytes) -> list[str]:
    """The non-empty ``ltik`` fields of an ``application/x-www-form-urlencoded`` body."""
    return from_query(body.decode("latin-1"))


def from_json(body: bytes) -> str | None:
    """The ``ltik`` string of an ``application/json`` body whose top level is an object; anything else,
    including a body that does not parse, is no ltik (the app reports its own bad JSON)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    ltik = value.get("ltik") if isinstance(value, dict) else None
    return ltik if isinstance(ltik, str) and ltik else None


def from_multipart(body: bytes, boundary: bytes) -> list[str]:
    """The non-empty ``ltik`` fields of a ``multipart/form-data`` body, parsed by werkzeug's decoder for
    that one field: files and other fields are skipped unread, and a body that does not parse holds no
    ltik (the app meets its own parser's error)."""
    decoder = MultipartDecoder(boundary, max_form_memory_size=len(body) + 1)
    decoder.receive_data(body)
    decoder.receive_data(None)
    found: list[str] = []
    current: list[bytes] | None = None
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, (Epilogue, NeedData)):
                break
            if isinstance(event, Field):
                current = [] if event.name == "ltik" else None
            elif isinstance(event, File):
                current = None
            elif isinstance(event, Data) and current is not None:
                current.append(event.data)
                if not event.more_data:
                    value = b"".join(current).decode("utf-8", "replace")
                    if value:
                        found.append(value)
                    current = None
    except ValueError:  # werkzeug's decoder says a malformed body this way
        return []
    return found


def body_source(content_type: str, sources: Iterable[str]) -> str | None:
    """The kind of body to read for the ltik, when its media type matches a body source in ``sources``:
    ``"form"`` (urlencoded), ``"json"``, or ``"multipart:<boundary>"`` (multipart is a ``form`` body too;
    the kind carries its boundary, so the body alone can be read later)."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == _FORM_TYPE:
        kind = "form"
    elif media_type == _JSON_TYPE:
        kind = "json"
    elif media_type == _MULTIPART_TYPE:
        if "form" not in sources:
            return None
        boundary = parse_options_header(content_type)[1].get("boundary", "")
        # RFC 2046: 1 to 70 characters; anything else cannot delimit a body.
        return f"{_MULTIPART_PREFIX}{boundary}" if 0 < len(boundary) <= 70 and boundary.isascii() else None
    else:
        return None
    return kind if kind in sources else None


def find_ltik(
    authorization: Iterable[str],
    query: Iterable[str],
    header: Iterable[str],
    body: bytes | None = None,
    body_kind: str | None = None,
) -> str | None:
    """The request's one ltik, or None; ``AmbiguousLtik`` when two values differ.

    ``authorization`` and ``header`` are every value of those headers; ``query`` is the ltik values
    already taken from the query string (:func:`ltiks_in_query`: the caller keeps them, to know whether
    the URL carried a token); ``body`` is read as ``body_kind`` (``"form"`` or ``"json"``, see
    :func:`body_source`). The caller passes nothing for a source that is not enabled. Every value must
    agree, so the order sources are read in never changes the outcome.
    """
    found: str | None = None
    for value in authorization:
        ltik = from_authorization(value)
        if ltik and ltik != found:
            if found is not None:
                raise AmbiguousLtik()
            found = ltik
    for ltik in query:
        if ltik != found:
            if found is not None:
                raise AmbiguousLtik()
            found = ltik
    for value in header:
        for ltik in from_header(value):
            if ltik != found:
                if found is not None:
                    raise AmbiguousLtik()
                found = ltik
    if body is not None:
        for ltik in _from_body(body, body_kind):
            if ltik and ltik != found:
                if found is not None:
                    raise AmbiguousLtik()
                found = ltik
    return found


def _from_body(body: bytes, kind: str | None) -> Iterable[str | None]:
    if kind == "form":
        return from_form(body)
    if kind is not None and kind.startswith(_MULTIPART_PREFIX):
        return from_multipart(body, kind[len(_MULTIPART_PREFIX) :].encode("ascii"))
    return (from_json(body),)


def _unquote_param(value: str) -> str:
    """An RFC 7235 auth-param value may be a quoted-string; a JWS never needs escapes inside one."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value
