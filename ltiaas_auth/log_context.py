"""The current launch in every log record: which launch, which course, when a grade passback fails at 3 a.m.

``LaunchContextFilter`` sets ``record.ltik_fingerprint`` (the ltik's short hash, :attr:`Ltik.fingerprint`)
and ``record.lti_context_id`` on every record it sees, as asgi-correlation-id does for request ids, so a
format string can always name them (``%(ltik_fingerprint)s``). Outside a launch both are None. The context
id is the ltik's own ``contextId`` claim (ltijs puts it in the ltiks it issues: the platform, deployment,
course and resource link of the launch, percent-encoded; None when absent), read from the claims the
middleware already parsed: the filter never fetches anything, never blocks, and never drops a record.
Like every claim it is a hint until LTIAAS has accepted the ltik (the middleware's default
``prefetch_idtoken=True``), so only a printable ASCII value of at most 512 characters is shown: a forged
token cannot write line breaks or kilobytes into the log.
"""

from __future__ import annotations

import logging
import re

from .context import credential_var
from .credentials import Launch

__all__ = ["LaunchContextFilter"]

_SHOWN = re.compile(r"[\x21-\x7e]{1,512}")


class LaunchContextFilter(logging.Filter):
    """Adds ``ltik_fingerprint`` and ``lti_context_id`` to every record (None outside a launch).

    Attach it to handlers (``"()": "ltiaas_auth.log_context.LaunchContextFilter"`` in ``dictConfig``), so
    records propagated from every logger get the fields. A value already on the record (set by
    ``extra={}``, or by the same filter on another handler) is kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if "ltik_fingerprint" in fields and "lti_context_id" in fields:
            return True
        credential = credential_var.get()
        if isinstance(credential, Launch):
            ltik = credential.ltik
            context_id = ltik.claims.get("contextId")
            fields.setdefault("ltik_fingerprint", ltik.fingerprint)
            shown = isinstance(context_id, str) and _SHOWN.fullmatch(context_id) is not None
            fields.setdefault("lti_context_id", context_id if shown else None)
        else:
            fields.setdefault("ltik_fingerprint", None)
            fields.setdefault("lti_context_id", None)
        return True
