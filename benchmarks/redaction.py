"""Part 5 of the table: what ``RedactingFilter`` costs per log record, on ordinary and on hostile records.

A hostile record is what one unauthenticated request can put in an access log line: 32 KiB of a pattern the
scanner keys on (``ltik=`` over and over, a header-like run, JWS-shaped fragments). The quadratic scanner of
0.1.0 took 2.5 s on 16 KB of ``ltik=``; DESIGN §12 asks microseconds to a few milliseconds, and issue
"hold under attack" under 10 ms. Each figure is the best of several runs of ``filter`` on a fresh record
with the record's message as its one argument, as uvicorn's and gunicorn's access loggers build them.
"""

from __future__ import annotations

import logging
import time

from ltiaas_auth import RedactingFilter
from ltiaas_auth.redact import MAX_SCAN

#: DESIGN §12 / the "hold under attack" acceptance: one 32 KiB hostile record.
HOSTILE_TARGET_MS = 10.0
SIZE = 32 * 1024

HOSTILE = {
    '"ltik=" repeated': "ltik=",
    '"%6Ctik=" repeated': "%6Ctik=",
    '"Bearer " repeated': "Bearer ",
    "JWS-shaped fragments": "eyAAAAAAAAAA.",
    "the API key as a word, repeated": "api-KEY_0123 ",
}
ACCESS_LINE = '127.0.0.1:5000 - "GET /launch?ltik={} HTTP/1.1" 200'


def _record(text: str) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", (text,), None)


def _best_ms(redactor: RedactingFilter, text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        record = _record(text)
        started = time.perf_counter()
        redactor.filter(record)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def measure(ltik: str, *, repeats: int) -> list[tuple[str, float]]:
    """(label, best milliseconds per record): an ordinary launch line, then each hostile 32 KiB record,
    then a record twice :data:`MAX_SCAN` long (what the cap holds it to)."""
    redactor = RedactingFilter(secrets=["api-KEY_0123"])
    rows = [("an access log line of a launch", _best_ms(redactor, ACCESS_LINE.format(ltik), repeats))]
    for label, unit in HOSTILE.items():
        text = (unit * (SIZE // len(unit) + 1))[:SIZE]
        rows.append((f"32 KiB, {label}", _best_ms(redactor, text, repeats)))
    oversized = ("ltik=" * (2 * MAX_SCAN // 5 + 1))[: 2 * MAX_SCAN]
    rows.append(
        (
            f'{2 * MAX_SCAN // 1024} KiB of "ltik=" (scan capped at {MAX_SCAN // 1024} KiB)',
            _best_ms(redactor, oversized, repeats),
        )
    )
    return rows
