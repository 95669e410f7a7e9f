"""Keeping ltiks, API keys and service keys out of logs and out of every tool that ships them elsewhere.

An ltik arrives in the launch URL (``?ltik=``), so every access log line of a launch holds a credential that
is good for 24 hours; ``Authorization`` values and keys also end up in debug logs, tracebacks, error reports
and traces. :class:`Redactor` is the one scanner: ``RedactingFilter`` (logging), ``redact_url`` and the hooks
for Sentry, structlog and OpenTelemetry all mask through it, so each rule is written once.

What is masked, each stretch replaced by ``***`` (which holds no token character):

- the value after ``ltik=`` (also with the name percent-encoded, ``%6Ctik=``, or as ``ltik%3D``), after
  ``ltik:`` / ``"ltik": "`` (``X-Ltik:`` headers, JSON, dict reprs), and after ``serviceKey`` in the same
  forms;
- anything shaped like a compact JWS (how an ltik looks), wherever it stands;
- the credentials after the schemes ``LTIK-AUTH-V2``/``LTIK-AUTH-V1``, ``SERVICE-AUTH-V1`` and ``Bearer``;
- each secret the redactor is given (an API key, service keys), also percent-encoded: one of 16 characters
  or more wherever it occurs, a shorter one only where it stands as a word of its own (not glued to a letter
  or digit), so a short test key such as ``test`` leaves ``pytest`` alone.

Every rule finds all its matches and the union of what the rules find is masked, so no rule's match can hide
another's. Each rule scans the text once, reading again at most a few characters of what it has masked, so
a redaction costs time linear in the text; and a text of more than :data:`MAX_SCAN` characters is scanned
only in its head and tail, which are kept, around a note of what was left out.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = [
    "MASK",
    "MAX_SCAN",
    "SENSITIVE_NAMES",
    "RedactingFilter",
    "Redactor",
    "is_sensitive_name",
    "redact_url",
]

MASK = "***"

#: The most characters one text may have to be scanned whole. A longer one keeps its first and last
#: ``MAX_SCAN // 2`` characters (less the words cut in two) around a note of how many were left out.
MAX_SCAN = 65_536

#: Field names whose value is a credential, compared by :func:`is_sensitive_name`: dict keys of events,
#: ``extra={}`` fields, captured headers (``X-Ltik``, WSGI's ``HTTP_X_LTIK``) and form fields.
SENSITIVE_NAMES = frozenset({"ltik", "x_ltik", "servicekey", "service_key", "authorization", "api_key"})

# --- the rules. Each finds a prefix; the value after it is the run of one character class. The prefixes
# are matched on a lower-cased copy of the text (a regex without IGNORECASE and with a plain first character
# skips through text several times faster); values and shapes on the text itself.

# A token value (after ltik= or serviceKey=): token68 characters or percent escapes. "%s" and "%(name)s"
# are not escapes, so the placeholders of a log format string are left alone.
_VALUE = re.compile(r"(?:[A-Za-z0-9\-._~+/=]+|%[0-9A-Fa-f]{2})+")

# After a name: "=" (or %3D), or ":" between optional quotes (JSON, dict reprs, headers, escaped JSON,
# bytes), or "," between quotes (a (name, value) pair: ASGI's headers); then the start of a value (a name
# with none is not worth a turn of the loop).
_SEPARATOR = (
    r"(?:=|%3d|(?:\\?[\"'])?[ \t]{0,8}:[ \t]{0,8}(?:b?\\?[\"'])?|\\?[\"'][ \t]{0,8},[ \t]{0,8}b?\\?[\"'])"
    r"(?=[a-z0-9\-._~+/=]|%[0-9a-f]{2})"
)
# "ltik" with any of its letters percent-encoded (%6Ctik, as query parsers decode it), and "serviceKey" /
# "service_key" (an idtoken's services.serviceKey), each starting a word: not glued to a letter or digit
# before it ("xltik=" is another name), unless that ends a percent escape. The check is written after the
# first character, so that each pattern starts with a plain character, which the engine skips to quickly.
_TIK = r"(?:t|%[57]4)(?:i|%[46]9)(?:k|%[46]b)"  # "tik", any letter of it percent-encoded
_LTIK_NAME = re.compile(
    r"(?:l(?:(?<![a-z0-9]l)|(?<=%[0-9a-f]{2}l))|%(?:(?<![a-z0-9]%)|(?<=%[0-9a-f]{2}%))[46]c)"
    + _TIK
    + _SEPARATOR
)
_OTHER_NAME = re.compile(
    r"s(?:(?<![a-z0-9]s)|(?<=%[0-9a-f]{2}s))ervice[_-]?key" + _SEPARATOR + r"|token=\\?\""
)
_NAME_LONGEST = 40  # characters a name prefix can span: how far back of a masked end to look again
# A scheme and its credentials (token68 and ":": LTIK-AUTH-V2 <key>:<ltik>, LTIK-AUTH-V1 Token=<ltik> up
# to ","), read by a lookahead: credentials hold no whitespace, so no scheme prefix either, and each
# character is read by one lookahead at most. On the lower-cased text: the span is the same.
_SCHEME = re.compile(r"(?:ltik-auth-v[12]|service-auth-v1|bearer)(?:\s|%20)+(?=([a-z0-9\-._~+/=:]+))")

# (prefix, value, longest prefix)
_RULES = (
    (_LTIK_NAME, _VALUE, _NAME_LONGEST),
    (_OTHER_NAME, _VALUE, _NAME_LONGEST),
)

# A compact JWS: a base64url JSON header ("ey"/"ew" and at least 10 more characters), "." and a JSON
# payload ("ey", "ew" or "e3"), "." and a signature (possibly empty). Found from its first dot, which needs
# 12 base64url characters before it: the header run is then read backwards, the rest forwards.
_JWS_DOT = re.compile(r"\.(?<=[A-Za-z0-9_-]{12}\.)(?=e[wy3][A-Za-z0-9_-]*\.([A-Za-z0-9_-]*))")
_B64_RUN = re.compile(r"[A-Za-z0-9_-]*")
_JWS_HEADER = re.compile(r"e[wy]")

# Cutting an over-long text: the head loses its last partial word; the tail is scanned from _LOOK_BACK
# characters before it (so a name or scheme just before the cut still masks its value) and loses a partial
# word at its start. Either way, no fragment of a token cut in two is kept.
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=%:"  # noqa: S105
_TOKEN_RUN = re.compile(r"[A-Za-z0-9\-._~+/=%:]*")
_LOOK_BACK = 256

# A secret of this length or more is masked wherever it occurs; a shorter one only as a word of its own.
_LONG_SECRET = 16

# ltik in a URL's query (or fragment), the name possibly percent-encoded; the value is everything up to the
# next field, as a query parser reads it.
_LTIK_QUERY = re.compile(r"(?i)((?:^|[?&;#])(?:l|%[46]c)" + _TIK + r"=)[^&#;\s]+")

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_DEPTH = 32  # nesting levels redact_data walks; anything deeper becomes its masked repr


def _word(secret: str) -> str:
    """A pattern for ``secret`` standing as a word: no letter or digit on either side (a percent escape
    before it ends a word). The check before is written after the first character, so the pattern still
    starts with a plain character, which the regex engine skips to quickly."""
    first, rest = re.escape(secret[0]), re.escape(secret[1:])
    return rf"{first}(?:(?<![A-Za-z0-9]{first})|(?<=%[0-9A-Fa-f]{{2}}{first})){rest}(?![A-Za-z0-9])"


def is_sensitive_name(name: object) -> bool:
    """Whether a field called ``name`` (text or bytes) holds a credential (case, ``-``/``_`` and WSGI's
    ``HTTP_`` aside)."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    if not isinstance(name, str) or len(name) > 64:
        return False
    key = name.lower().replace("-", "_")
    return key in SENSITIVE_NAMES or (key.startswith("http_") and key[5:] in SENSITIVE_NAMES)


class Redactor:
    """The scanner: masks every credential it finds, in text (:meth:`redact`) or data (:meth:`redact_data`).

    Give it the secrets it cannot recognise by shape: ``Redactor(config)`` (its API key) and/or
    ``Redactor(secrets=[...])``; ``Redactor.from_env()`` adds ``$LTIAAS_API_KEY``.
    """

    def __init__(self, config: LtiaasConfig | None = None, *, secrets: Iterable[str] = ()) -> None:
        values = {*secrets, *((config.api_key,) if config is not None else ())}
        forms = {form for value in values if value for form in (value, quote(value, safe=""))}
        ordered = sorted(forms, key=len, reverse=True)  # the longest first: no shorter one leaves a tail
        alternatives = [re.escape(form) if len(form) >= _LONG_SECRET else _word(form) for form in ordered]
        self._secrets = re.compile("|".join(alternatives)) if alternatives else None

    @classmethod
    def from_env(cls, *, secrets: Iterable[str] = ()) -> Self:
        """An instance that also masks ``$LTIAAS_API_KEY`` when set: for ``dictConfig`` files (``"()"``)."""
        key = os.environ.get("LTIAAS_API_KEY", "").strip()
        return cls(secrets=[*secrets, key] if key else secrets)

    def redact(self, text: str) -> str:
        """``text`` with every credential masked (past :data:`MAX_SCAN` characters, its middle left out)."""
        if len(text) <= MAX_SCAN:
            return self._redact(text)
        half = MAX_SCAN // 2
        head = text[:half].rstrip(_TOKEN_CHARS)
        window = text[-half - _LOOK_BACK :]
        keep = _LOOK_BACK
        if window[keep - 1] in _TOKEN_CHARS:  # the cut falls inside a word: leave the rest of it out
            keep = _TOKEN_RUN.match(window, keep).end()  # type: ignore[union-attr]  # it matches ""
        left_out = len(text) - len(head) - (len(window) - keep)
        return f"{self._redact(head)}[... {left_out} characters not shown ...]{self._redact(window, keep)}"

    def redact_data(self, value: Any, _depth: int = 0) -> Any:
        """A copy of ``value`` (JSON-like data: dicts, lists, tuples, strings) with every credential masked.

        A value under a sensitive name (:func:`is_sensitive_name`) is masked whole, in a dict or in a
        ``(name, value)`` pair (ASGI's header list); strings, bytes and dict keys are redacted; numbers,
        booleans and None are kept; any other object whose ``str`` or ``repr`` shows a credential becomes
        its masked ``repr``.
        """
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, bytes):
            text = value.decode("latin-1")
            clean = self.redact(text)
            return value if clean == text else clean.encode("latin-1")
        if _depth >= _DEPTH:
            return self.redact(_shown(value))
        if isinstance(value, Mapping):
            return {
                self.redact(key) if isinstance(key, str) else key: (
                    MASK if is_sensitive_name(key) and item else self.redact_data(item, _depth + 1)
                )
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            if len(value) == 2 and is_sensitive_name(value[0]) and value[1]:
                items = [value[0], MASK if isinstance(value[1], str) else MASK.encode()]
            else:
                items = [self.redact_data(item, _depth + 1) for item in value]
            return items if isinstance(value, list) else tuple(items)
        shown = _shown(value)
        clean = self.redact(shown)
        return value if clean == shown and self.redact(_text(value)) == _text(value) else clean

    def _redact(self, text: str, keep: int = 0) -> str:
        """``text[keep:]`` masked, with ``text[:keep]`` read too (a name there masks a value after it)."""
        return _render(text, self._merged(text, keep), keep)

    def _merged(self, text: str, keep: int = 0) -> list[tuple[int, int]]:
        """The stretches of ``text`` to mask, from ``keep`` on: sorted, and merged where they touch."""
        spans = _spans(text)
        if self._secrets is not None:
            spans += [match.span() for match in self._secrets.finditer(text)]
        if keep:
            spans = [(start if start > keep else keep, end) for start, end in spans if end > keep]
        if not spans:
            return []
        spans.sort()
        merged: list[tuple[int, int]] = []
        start, end = spans[0]
        for next_start, next_end in spans:
            if next_start > end:  # a gap between two masked stretches: keep it
                merged.append((start, end))
                start = next_start
            if next_end > end:
                end = next_end
        merged.append((start, end))
        return merged


def _spans(text: str) -> list[tuple[int, int]]:
    """Where the shape rules (named values, schemes, JWS) find a credential: (start, end) pairs."""
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    if len(lowered) != len(text):  # a few non-ASCII letters lower-case to two characters
        lowered = text.translate(_ASCII_LOWER)
    for prefix, value, longest in _RULES:
        masked_to = 0  # the end of the last value found: no value before it is read again
        position = 0
        while (found := prefix.search(lowered, position)) is not None:
            start = position = found.end()
            if start >= masked_to and (run := value.match(text, start)) is not None:
                masked_to = run.end()
                spans.append((start, masked_to))
                # Prefixes inside the value just masked add nothing, but one may begin inside it and end
                # after it: go on that far back of its end.
                position = max(start, masked_to - longest)
    spans += [found.span(1) for found in _SCHEME.finditer(lowered)]  # the credentials: ASCII, as in text
    if "." in text:
        reversed_text: str | None = None
        for dot in _JWS_DOT.finditer(text):
            if reversed_text is None:
                reversed_text = text[::-1]
            at = dot.start()
            run_start = at - _B64_RUN.match(reversed_text, len(text) - at).end()  # type: ignore[union-attr]
            header = _JWS_HEADER.search(text, run_start, at - 10)
            if header is not None:
                spans.append((header.start(), dot.end(1)))
    return spans


def _shown(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


_DEFAULT = Redactor()


def redact_url(url: str, redactor: Redactor | None = None) -> str:
    """``url`` with the value of its ``ltik`` query parameter masked and the rest kept, for access logs.

    The name also counts percent-encoded (``%6Ctik``), as query parsers decode it; then every other rule
    of ``redactor`` (by default, the shape rules) runs over the result, so a token elsewhere in the URL (a
    path segment, a nested URL) is masked too.
    """
    masked = _LTIK_QUERY.sub(lambda match: match.group(1) + MASK, url) if len(url) <= MAX_SCAN else url
    return (redactor or _DEFAULT).redact(masked)


_Args = tuple[object, ...] | Mapping[str, object] | None

# What every LogRecord has: anything else on a record came from extra={} (or a filter) and is redacted.
_RECORD_FIELDS = frozenset(
    (*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "message", "asctime", "taskName")
)


class RedactingFilter(Redactor, logging.Filter):
    """A ``logging.Filter`` that masks credentials in a record's message, arguments, ``extra={}`` fields
    and traceback.

    Give it the secrets it cannot recognise by shape: ``RedactingFilter(config)`` (its API key) and/or
    ``RedactingFilter(secrets=[...])``. Attach it to *handlers* (a logger's filters do not see records
    propagated from child loggers) or to the loggers that log directly, such as ``gunicorn.access`` and
    ``uvicorn.access``. It never drops a record. A traceback is formatted, masked into ``exc_text`` and
    ``exc_info`` is cleared, so no handler can render (or ship) the unmasked exception.
    """

    def __init__(self, config: LtiaasConfig | None = None, *, secrets: Iterable[str] = ()) -> None:
        logging.Filter.__init__(self)
        Redactor.__init__(self, config, secrets=secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = _message(record)
        if message is None:  # the arguments do not fit the format: mask each part, logging reports the rest
            record.msg = self._clean(record.msg)
            record.args = self._clean_args(record.args)
        elif len(message) > MAX_SCAN:
            clean = self.redact(message)
            if clean != message:
                self._mask_parts(record, clean)
        elif merged := self._merged(message):
            placed = self._in_place(record.msg, record.args, message, merged)
            if placed is None:
                self._mask_parts(record, _render(message, merged))
            else:
                self._set(record, *placed)
        for name, value in record.__dict__.items():
            if name not in _RECORD_FIELDS and value is not None:
                record.__dict__[name] = MASK if is_sensitive_name(name) and value else self._clean(value)
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    # A masked record keeps its shape (its format and as many arguments): uvicorn's and gunicorn's access
    # formatters read the arguments, not the message, and a record without them would not print at all.
    # Each credential the whole message shows is masked in the parts it falls in (the format's literal text
    # or an argument), so one that only shows once the parts are put together ("Bearer %s", or a path
    # ending in "Bearer" before the format's " HTTP/") is masked too. Where the format is not plain "%"
    # placeholders, each part is masked on its own, and if that differs from the masked whole, the masked
    # whole is kept without arguments.

    def _in_place(
        self, msg: object, args: _Args, message: str, merged: list[tuple[int, int]]
    ) -> tuple[str, _Args] | None:
        """``msg`` and ``args`` with the ``merged`` stretches of their ``message`` masked where they fall,
        or None when the format is not plain ``%`` placeholders or a number would have to show a mask."""
        by_name = isinstance(args, Mapping)
        if not isinstance(msg, str) or not (by_name or isinstance(args, tuple)):
            return None
        values: Any = args
        texts: list[str] = []  # the message, cut into literal text and formatted arguments
        placeholders: list[tuple[re.Match[str], object] | None] = []  # (placeholder, argument) or None
        at = index = 0
        try:
            for spec in _PLACEHOLDER.finditer(msg):
                texts.append(msg[at : spec.start()])
                placeholders.append(None)
                at = spec.end()
                if spec["conversion"] == "%":
                    texts.append("%")
                    placeholders.append(None)
                    continue
                if (spec["name"] is None) == by_name:
                    return None
                value = values[spec["name"]] if by_name else values[index]
                index += 1
                texts.append(("%" + spec["format"] + spec["conversion"]) % (value,))
                placeholders.append((spec, value))
        except (LookupError, TypeError, ValueError):
            return None
        texts.append(msg[at:])
        placeholders.append(None)
        if (not by_name and index != len(values)) or "".join(texts) != message:
            return None
        new_msg: list[str] = []
        new_args: list[object] = []
        # Under names, every value is masked on its own too: a formatter may read more than the format does.
        new_named: dict[str, object] = dict(self._cleaned(args)) if by_name else {}  # type: ignore[arg-type]
        for text, masked, placeholder in zip(texts, _cut(texts, merged), placeholders, strict=True):
            if placeholder is None:
                new_msg.append(masked.replace("%", "%%"))
                continue
            spec, value = placeholder
            new_msg.append(spec[0])
            if masked != text:
                if spec["conversion"] not in "sra":
                    return None  # a number cannot show a mask
                is_text = isinstance(value, str) and spec["conversion"] == "s"
                value = masked if is_text else _Redacted(masked, masked)
            if by_name:
                new_named[spec["name"]] = value
            else:
                new_args.append(value)
        result_args: _Args = new_named if by_name else tuple(new_args)
        result = _compose("".join(new_msg), result_args)
        if result is None or self.redact(result) != result:
            return None
        return "".join(new_msg), result_args

    def _mask_parts(self, record: logging.LogRecord, clean: str) -> None:
        """Each part masked on its own, if together they make the masked whole ``clean``; else ``clean``."""
        msg, args = self._clean(record.msg), self._cleaned(record.args)
        if _compose(msg, args) == clean:
            self._set(record, msg, args)
        else:
            record.msg, record.args = clean, ()

    @staticmethod
    def _set(record: logging.LogRecord, msg: object, args: _Args) -> None:
        record.msg = msg
        if isinstance(record.args, dict) and isinstance(args, Mapping):
            record.args.update(args)  # in place: gunicorn's dict subclass answers "-" for misses
        else:
            record.args = args

    def _cleaned(self, args: _Args) -> _Args:
        """``args`` with each part masked, as a new tuple or dict (the record's own is left as it is)."""
        if isinstance(args, Mapping):
            return {name: self._clean(value) for name, value in args.items()}
        if isinstance(args, tuple):
            return tuple(self._clean(value) for value in args)
        return args

    def _clean(self, value: object) -> object:
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, int | float):
            return value  # keeps %d and friends working
        if isinstance(value, Mapping | list | tuple):
            return self.redact_data(value)  # a JSON formatter renders it as data: keep it data
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


# A %-format placeholder as logging's % operator reads it (without "*" widths, which take an argument).
_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?(?P<format>[#0\- +]*\d*(?:\.\d+)?[hlL]?)(?P<conversion>[diouxXeEfFgGcrsa%])"
)


def _compose(msg: object, args: _Args) -> str | None:
    """What ``LogRecord.getMessage`` makes of ``msg`` and ``args``, or None when they do not fit."""
    try:
        text = str(msg)
        return text % args if args else text
    except Exception:
        return None


def _render(text: str, merged: list[tuple[int, int]], keep: int = 0) -> str:
    """``text[keep:]`` with each of the ``merged`` stretches replaced by the mask."""
    if not merged:
        return text[keep:] if keep else text
    pieces: list[str] = []
    add = pieces.append
    written = keep  # the text before this index is written out (or left out)
    for start, end in merged:
        add(text[written:start])
        add(MASK)
        written = end
    add(text[written:])
    return "".join(pieces)


def _cut(texts: list[str], merged: list[tuple[int, int]]) -> list[str]:
    """Each of ``texts`` (consecutive pieces of one message) with the message's ``merged`` stretches
    masked where they fall in it."""
    starts = [start for start, _ in merged]
    ends = [end for _, end in merged]
    result: list[str] = []
    start = 0
    for text in texts:
        end = start + len(text)
        first, last = bisect.bisect_right(ends, start), bisect.bisect_left(starts, end)
        if not text or first >= last:
            result.append(text)
        else:
            local = [(span_start - start, span_end - start) for span_start, span_end in merged[first:last]]
            local[0] = (max(local[0][0], 0), local[0][1])  # a stretch begun in an earlier piece
            local[-1] = (local[-1][0], min(local[-1][1], len(text)))  # or going on into a later one
            result.append(_render(text, local))
        start = end
    return result


def _message(record: logging.LogRecord) -> str | None:
    """The record's formatted message, or None when its arguments do not fit its format."""
    try:
        return record.getMessage()
    except Exception:
        return None
