"""A structlog processor that masks ltiks, the API key and service keys in every event.

structlog has no redaction of its own: whatever a call site binds (``log.info("launch", url=request.url,
idtoken=idtoken)``) reaches the renderer as it is. :class:`RedactingProcessor` masks every field through the
package's one scanner (:class:`ltiaas_auth.redact.Redactor`): strings, nested dicts and lists, values under
a sensitive name (``ltik``, ``serviceKey``, ``authorization``…), and the traceback, which it formats first
(as ``structlog.processors.format_exc_info`` does) so that no renderer prints the raw exception. Put it last
before the renderer. This module imports ``structlog`` and nothing of the package imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Self

from structlog.processors import format_exc_info
from structlog.typing import EventDict, WrappedLogger

from .redact import Redactor

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = ["RedactingProcessor"]


class RedactingProcessor:
    """``RedactingProcessor(config)`` (its API key is masked too), or ``RedactingProcessor.from_env()``."""

    def __init__(self, config: LtiaasConfig | None = None, *, secrets: Iterable[str] = ()) -> None:
        self.redactor = Redactor(config, secrets=secrets)

    @classmethod
    def from_env(cls, *, secrets: Iterable[str] = ()) -> Self:
        """A processor that also masks ``$LTIAAS_API_KEY`` when it is set."""
        processor = cls(secrets=secrets)
        processor.redactor = Redactor.from_env(secrets=secrets)
        return processor

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        if event_dict.get("exc_info"):
            event_dict = format_exc_info(logger, method_name, event_dict)
        masked: EventDict = self.redactor.redact_data(event_dict)
        return masked
