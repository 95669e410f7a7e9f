"""The browser half of the library: ``ltik.js``, which carries the ltik from page to page.

LTIAAS hands a tool its ltik once, in the launch URL; cookies are blocked in LMS iframes, and an ltik left
in the URL leaks through history, logs and ``Referer``. The script (``static/ltiaas_auth/ltik.js``, package
data) keeps it in the tab's ``sessionStorage``, takes it out of the address bar, and adds it to the tool's
own requests: ``docs/frontend.md`` tells the whole journey. This module only finds and inlines the file, so
any server, template engine or framework can use it; it imports no framework.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

__all__ = ["ScriptTag", "script_path", "script_source", "script_tag"]

_SCRIPT = Path(__file__).parent / "static" / "ltiaas_auth" / "ltik.js"
# A CSP nonce is a base64 or base64url value (CSP3 `base64-value`): nothing that could end the attribute.
_NONCE = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_MAX_NONCE = 256


class ScriptTag(str):
    """A ``<script>`` element: a ``str`` that template engines (Jinja2, Django, markupsafe) insert as is.

    ``__html__`` is the protocol those engines check for markup that is already safe, so neither
    ``{{ tag }}`` nor ``{{ tag|safe }}`` escapes it.
    """

    __slots__ = ()

    def __html__(self) -> ScriptTag:
        # Itself, not a plain str: markupsafe escapes what ``__html__`` returns unless it is markup too.
        return self


def script_path() -> Path:
    """The path of ``ltik.js`` inside the installed package, for a server that serves it as a file."""
    return _SCRIPT


def script_tag(nonce: str | None = None) -> ScriptTag:
    """``ltik.js`` inlined in a ``<script>`` element, with ``nonce="…"`` when given.

    Inlining needs no static route (so it works on the middleware's own rejection page, which is served
    for any path) and no extra request; under a CSP, give the response's nonce
    (``script-src 'nonce-…'``). A nonce outside the CSP alphabet is a ``ValueError``, so it can never
    break out of the attribute.
    """
    if nonce is None:
        return ScriptTag(f"<script>{script_source()}</script>")
    if not isinstance(nonce, str) or len(nonce) > _MAX_NONCE or _NONCE.fullmatch(nonce) is None:
        raise ValueError("nonce must be a base64 or base64url value (A-Z a-z 0-9 + / - _, then = padding)")
    return ScriptTag(f'<script nonce="{nonce}">{script_source()}</script>')


@cache
def script_source() -> str:
    """The script's text (read once), for a ``<script>`` element that also holds the page's own code.

    It never contains ``</script`` or ``<!--``, so it can stand inside an element as it is.
    """
    source = _SCRIPT.read_text(encoding="utf-8")
    if re.search(r"</script|<!--", source, re.IGNORECASE):
        raise RuntimeError(f"{_SCRIPT} cannot be inlined: it contains '</script' or '<!--'")
    return source
