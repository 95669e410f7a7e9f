"""One way to drive LtiaasClient and AsyncLtiaasClient alike, so each API test runs against both."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Self

from ltiaas_auth.api import AsyncLtiaasClient, LtiaasClient
from ltiaas_auth.config import LtiaasConfig


class _Closing:
    """``with driver:`` closes the driver (and its client) afterwards."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SyncDriver(_Closing):
    """Calls ``LtiaasClient`` methods; listings come back as lists."""

    mode = "sync"

    def __init__(self, config: LtiaasConfig, **options: Any) -> None:
        self.client = LtiaasClient(config, **options)

    def __call__(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        return list(result) if isinstance(result, Iterator) else result

    def close(self) -> None:
        self.client.close()


class AsyncDriver(_Closing):
    """Calls ``AsyncLtiaasClient`` methods on one event loop of its own, in the caller's context (so
    ``launch_context()`` blocks around a call apply); listings come back as lists."""

    mode = "async"

    def __init__(self, config: LtiaasConfig, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = AsyncLtiaasClient(config, **options)

    def __call__(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            result = getattr(self.client, method)(*args, **kwargs)
            if isinstance(result, AsyncIterator):
                return [item async for item in result]
            return await result

        task = self.loop.create_task(run(), context=contextvars.copy_context())
        return self.loop.run_until_complete(task)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


DRIVERS = {"sync": SyncDriver, "async": AsyncDriver}
