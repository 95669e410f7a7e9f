"""Carrying the current credential into threads and executors, and opening one for a stored service key.

The credential lives on a ``ContextVar``. ``asyncio.to_thread`` copies the context into its thread, but
``threading.Thread``, ``ThreadPoolExecutor.submit`` and ``loop.run_in_executor`` do not: code there sees no
credential (``NoLaunchContext``). ``bind_context`` and ``submit_in_context`` carry a copy over.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from .config import check_config
from .context import CredentialScope, service_context
from .errors import NoLaunchContext

if TYPE_CHECKING:
    from .config import LtiaasConfig
    from .credentials import ServiceCredential
    from .service_keys import ServiceKeyStore

__all__ = ["bind_context", "stored_service_context", "submit_in_context"]

P = ParamSpec("P")
T = TypeVar("T")


def bind_context(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn``, bound to a copy of the current context: ``Thread(target=bind_context(work))``.

    The context is captured now; each call runs in its own copy of it, so calls on several threads at once
    are fine and none of them changes the caller's variables.
    """
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return captured.copy().run(fn, *args, **kwargs)

    return run


def submit_in_context(
    executor: Executor, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> Future[T]:
    """``executor.submit(fn, *args, **kwargs)``, run in a copy of the current context."""
    captured = contextvars.copy_context()

    def run() -> T:
        return captured.run(fn, *args, **kwargs)

    return executor.submit(run)


def stored_service_context(
    config: LtiaasConfig,
    platform_id: str,
    context_id: str | None = None,
    resource_link_id: str | None = None,
    *,
    store: ServiceKeyStore | None = None,
) -> CredentialScope[ServiceCredential]:
    """``service_context`` for the key stored for that launch context (in ``store``, else the config's).

    ``NoLaunchContext`` when there is no store or no key for it: that context has not been launched with
    grades or rosters since the store was set up.
    """
    config = check_config(config)
    store = store if store is not None else config.service_keys
    if store is None:
        raise NoLaunchContext("No service key store: pass store= or set LtiaasConfig(service_keys=...).")
    record = store.get(platform_id, context_id, resource_link_id)
    if record is None:
        raise NoLaunchContext("No service key is stored for this launch context.")
    return service_context(config, record.service_key)
