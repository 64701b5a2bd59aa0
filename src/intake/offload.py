"""Where the blocking work of reading one request body runs: on the event loop for a small
body, in a thread of its own for a large one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

OFFLOAD_BYTES = 1024 * 1024
"""Bodies larger than this (or of unknown length) are read in a thread of their own."""
BATCH_BYTES = 1024 * 1024
"""A thread reading a large body is handed chunks of about this size, not each network read."""
P = ParamSpec("P")
T = TypeVar("T")


class BodyWorker:
    """Where the blocking work of one body runs: inline on the event loop, or in a thread.

    One thread per large body, always the same: an lxml parser must stay on the thread that
    created it (it shares that thread's libxml2 dictionary), and the thread ends with the body.
    """

    def __init__(self, offload: bool) -> None:
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-body") if offload else None
        )
        self._batch: list[bytes] = []
        self._batched = 0

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._executor is None:
            return fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def feed(self, consume: Callable[[bytes], None], chunk: bytes) -> None:
        if self._executor is None:
            consume(chunk)
            return
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= BATCH_BYTES:
            await self.flush(consume)

    async def flush(self, consume: Callable[[bytes], None]) -> None:
        if self._batch:
            batch, self._batch, self._batched = b"".join(self._batch), [], 0
            await self.call(consume, batch)

    def close(self, cleanup: Callable[[], None] | None = None) -> None:
        """Release the thread; `cleanup` runs after whatever it is still doing (cancellation)."""
        if self._executor is None:
            if cleanup is not None:
                cleanup()
            return
        if cleanup is not None:
            self._executor.submit(cleanup)
        self._executor.shutdown(wait=False)


def offload(declared_length: int | None) -> bool:
    return declared_length is None or declared_length > OFFLOAD_BYTES
