"""Keeping ltiks, API keys and service keys out of logs.

An ltik arrives in the launch URL (``?ltik=``), so every access log line of a launch holds a credential that
is good for 24 hours; ``Authorization`` values and keys also end up in debug logs and tracebacks.
``RedactingFilter`` masks them in log records; ``redact_url`` masks the ltik of one URL.

What is masked: the value after ``ltik=``; anything shaped like a compact JWS (how an ltik looks); the value
after the schemes ``LTIK-AUTH-V2``/``LTIK-AUTH-V1``, ``SERVICE-AUTH-V1`` and ``Bearer``; and each secret the
filter is given (an API key, service keys), also percent-encoded. Every rule is matched at every position of
the original text and the union of what they find is replaced, each stretch by ``***`` (which holds no token
character): so no rule's match can hide another's, and nothing of a secret survives.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = ["MASK", "RedactingFilter", "redact_url"]

MASK = "***"

# Each rule is a lookahead, so it matches at every position (overlaps included); group 1 is what to mask.
# After ltik=: a token, possibly percent-encoded; "%s" and "%(name)s" are not, so the placeholders of a log
# format string are left alone.
_LTIK_PARAM = re.compile(r"(?i)(?=ltik=((?:[A-Za-z0-9\-._~+/=]|%[0-9A-Fa-f]{2})+))")
_SCHEME = re.compile(r"(?i)(?=(?:LTIK-AUTH-V[12]|SERVICE-AUTH-V1|Bearer)\s+([A-Za-z0-9\-._~+/=:]+))")
# A compact JWS: base64url JSON header and payload (so "ey"/"ew"/"e3"...), then a signature.
_JWS = re.compile(r"(?=(e[wy][A-Za-z0-9_-]{10,}\.e[wy3][A-Za-z0-9_-]*\.[A-Za-z0-9_-]*))")
_RULES = (_LTIK_PARAM, _SCHEME, _JWS)

_LTIK_QUERY = re.compile(r"(?i)((?:^|[?&;])ltik=)[^&#;\s]+")

_Args = tuple[object, ...] | Mapping[str, object] | None


def redact_url(url: str) -> str:
    """``url`` with the value of its ``ltik`` query parameter masked and the rest kept, for access logs."""
    return _LTIK_QUERY.sub(lambda match: match.group(1) + MASK, url)


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that masks credentials in a record's message, arguments and traceback.

    Give it the secrets it cannot recognise by shape: ``RedactingFilter(config)`` (its API key) and/or
    ``RedactingFilter(secrets=[...])``. Attach it to *handlers* (a logger's filters do not see records
    propagated from child loggers) or to the loggers that log directly, such as ``gunicorn.access`` and
    ``uvicorn.access``. It never drops a record. A traceback is formatted, masked into ``exc_text`` and
    ``exc_info`` is cleared, so no handler can render (or ship) the unmasked exception.
    """

    def __init__(self, config: LtiaasConfig | None = None, *, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        values = {*secrets, *((config.api_key,) if config is not None else ())}
        forms = sorted({form for value in values if value for form in (value, quote(value, safe=""))})
        forms.sort(key=len, reverse=True)  # the longest first, so no shorter secret leaves a tail of it
        secrets_rule = (re.compile(f"(?=({'|'.join(map(re.escape, forms))}))"),) if forms else ()
        self._rules = (*_RULES, *secrets_rule)

    @classmethod
    def from_env(cls, *, secrets: Iterable[str] = ()) -> RedactingFilter:
        """A filter that also masks ``$LTIAAS_API_KEY`` when set: for ``dictConfig`` files (``"()"``)."""
        key = os.environ.get("LTIAAS_API_KEY", "").strip()
        return cls(secrets=[*secrets, key] if key else secrets)

    def redact(self, text: str) -> str:
        """``text`` with every credential masked."""
        spans = sorted(match.span(1) for rule in self._rules for match in rule.finditer(text))
        if not spans:
            return text
        pieces, masked_until = [text[: spans[0][0]]], spans[0][1]
        for start, end in spans[1:]:
            if start > masked_until:  # a gap between two masked stretches: keep it
                pieces += [MASK, text[masked_until:start]]
            masked_until = max(masked_until, end)
        pieces += [MASK, text[masked_until:]]
        return "".join(pieces)

    def filter(self, record: logging.LogRecord) -> bool:
        message = _message(record)
        if message is None or self.redact(message) != message:
            # Mask the parts, keeping the record's shape (uvicorn's and gunicorn's access formatters read
            # the arguments); if a secret only shows once they are put together ("Bearer %s"), keep the
            # masked whole instead.
            record.msg = self._clean(record.msg)
            record.args = self._clean_args(record.args)
            masked = _message(record)
            if message is not None and (masked is None or self.redact(masked) != masked):
                record.msg, record.args = self.redact(message), ()
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def _clean(self, value: object) -> object:
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, int | float):
            return value  # keeps %d and friends working
        try:
            text, shown = str(value), repr(value)
        except Exception:
            return value  # formatting it fails anyway, and logging reports that
        clean_text, clean_shown = self.redact(text), self.redact(shown)
        if clean_text == text and clean_shown == shown:
            return value
        return _Redacted(clean_text, clean_shown)

    def _clean_args(self, args: _Args) -> _Args:
        if isinstance(args, dict):
            for name, value in args.items():  # in place: gunicorn's dict subclass answers "-" for misses
                args[name] = self._clean(value)
            return args
        if isinstance(args, Mapping):
            return {name: self._clean(value) for name, value in args.items()}
        if isinstance(args, tuple):
            return tuple(self._clean(value) for value in args)
        return args


class _Redacted:
    """An argument whose text held a secret: it formats as the masked text, with ``%s``, ``%r`` or ``{}``."""

    __slots__ = ("_repr", "_str")

    def __init__(self, text: str, shown: str) -> None:
        self._str, self._repr = text, shown

    def __str__(self) -> str:
        return self._str

    def __repr__(self) -> str:
        return self._repr

    def __format__(self, spec: str) -> str:
        return format(self._str, spec)


def _message(record: logging.LogRecord) -> str | None:
    """The record's formatted message, or None when its arguments do not fit its format."""
    try:
        return record.getMessage()
    except Exception:
        return None
