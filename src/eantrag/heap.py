"""Short pauses of the garbage collector in long-running processes.

CPython's cycle collector walks every tracked object in a full (generation 2) pass. A process
of eantrag holds some hundred thousand long-lived objects — modules, compiled schemas, the
SQLAlchemy and pydantic caches — and a full pass over them took 85–120 ms under load, every few
seconds: each one stalled every request in flight. `gc.freeze()` moves the objects alive at that
moment out of the collector's sight (reference counting still frees them), so later full passes
only walk what is new. Frozen once after start-up and once after a warm-up, when the lazily
built caches exist, full passes took 3–5 ms.
"""

from __future__ import annotations

import asyncio
import gc

WARM_UP_SECONDS = 30.0


def freeze() -> None:
    """Collect what is garbage now, then exempt everything alive from later passes."""
    gc.collect()
    gc.freeze()


async def freeze_after_warm_up(seconds: float = WARM_UP_SECONDS) -> None:
    """Freeze now and once more after `seconds` (run as a task for the process's lifetime)."""
    freeze()
    await asyncio.sleep(seconds)
    freeze()
