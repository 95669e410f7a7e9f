"""The current credential, one per request or task, on a ``ContextVar``.

Every setter hands back a token that is always reset, so a credential never outlives its request and no
thread or task ever sees another's.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from .config import check_config
from .credentials import ApiKeyCredential, Credential, Launch, ServiceCredential
from .errors import NoLaunchContext
from .ltik import Ltik, parse_ltik

if TYPE_CHECKING:
    from .config import LtiaasConfig

__all__ = [
    "CredentialScope",
    "api_key_context",
    "auth_header",
    "auth_headers",
    "current_credential",
    "current_launch",
    "launch_context",
    "service_context",
]

C = TypeVar("C", bound=Credential)

credential_var: ContextVar[Credential | None] = ContextVar("ltiaas_auth.credential", default=None)


class CredentialScope(Generic[C]):
    """Makes ``credential`` current inside ``with`` / ``async with`` and restores the outer one on exit.

    One scope may be entered from several threads or tasks at once (each in its own context): on exit each
    resets the token it set itself, found by the context it was set in, so none leaves the credential set.
    """

    __slots__ = ("_lock", "_tokens", "credential")

    def __init__(self, credential: C) -> None:
        self.credential = credential
        self._tokens: list[Token[Credential | None]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> C:
        token = credential_var.set(self.credential)
        with self._lock:
            self._tokens.append(token)
        return self.credential

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            # The innermost token set in this context: resetting a token of another context raises
            # ValueError, so try them newest first.
            for index in range(len(self._tokens) - 1, -1, -1):
                try:
                    credential_var.reset(self._tokens[index])
                except ValueError:
                    continue
                del self._tokens[index]
                return
        raise RuntimeError("This CredentialScope was not entered in this context.")

    async def __aenter__(self) -> C:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def make_launch(config: LtiaasConfig, ltik: str | Ltik) -> Launch:
    """A ``Launch`` for ``ltik``, parsed and expiry-checked under ``config``'s clock, max age and leeway."""
    config = check_config(config)
    parsed = parse_ltik(ltik, now=config.clock(), max_age=config.ltik_max_age, leeway=config.leeway)
    return Launch(config, parsed)


def launch_context(config: LtiaasConfig, ltik: str | Ltik) -> CredentialScope[Launch]:
    """Inside a launch: ``LTIK-AUTH-V2``. Raises ``InvalidLtik``/``ExpiredLtik`` at once for a bad ltik."""
    return CredentialScope(make_launch(config, ltik))


def service_context(config: LtiaasConfig, service_key: str) -> CredentialScope[ServiceCredential]:
    """Outside a launch (jobs, workers): ``SERVICE-AUTH-V1`` with a stored service key."""
    return CredentialScope(ServiceCredential(config, service_key))


def api_key_context(config: LtiaasConfig) -> CredentialScope[ApiKeyCredential]:
    """For endpoints tied to no launch (registrations, platforms): ``Bearer <API_KEY>``."""
    return CredentialScope(ApiKeyCredential(config))


def current_credential() -> Credential:
    """The current credential of any kind; ``NoLaunchContext`` when there is none."""
    credential = credential_var.get()
    if credential is None:
        raise NoLaunchContext("No LTIAAS credential is set: use the middleware or a *_context() block.")
    return credential


def current_launch() -> Launch:
    """The current launch; ``NoLaunchContext`` outside one (including in service and API-key contexts)."""
    credential = credential_var.get()
    if not isinstance(credential, Launch):
        raise NoLaunchContext("This code is not running inside an LTI launch.")
    return credential


def auth_header() -> str:
    """The ``Authorization`` value for the current credential."""
    credential = credential_var.get()
    if credential is None:
        raise NoLaunchContext("No LTIAAS credential is set: use the middleware or a *_context() block.")
    return credential.authorization


def auth_headers() -> dict[str, str]:
    """``{"Authorization": auth_header()}``, to merge into any HTTP client's headers."""
    return {"Authorization": auth_header()}
