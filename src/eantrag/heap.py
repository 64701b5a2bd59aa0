"""How long-running processes use memory: short collector pauses, reused heap pages.

CPython's cycle collector walks every tracked object in a full (generation 2) pass. A process
of eantrag holds some hundred thousand long-lived objects — modules, compiled schemas, the
SQLAlchemy and pydantic caches — and a full pass over them took 85–120 ms under load, every few
seconds: each one stalled every request in flight. `gc.freeze()` moves the objects alive at that
moment out of the collector's sight (reference counting still frees them), so later full passes
only walk what is new. Frozen once after start-up and once after a warm-up, when the lazily
built caches exist, full passes took 3–5 ms.

glibc's allocator hands blocks of 128 KiB and more to the kernel as soon as they are freed (it
raises that bar, up to 32 MiB, as it sees large blocks come and go), and returns the top of the
heap once more than twice that bar lies free there. Validating an application of 1 MB allocates
and frees a few such blocks — the document, the tree's text, the attachment's Base64 and its
bytes — so every request had the kernel map and zero some 850 fresh pages: 1.5 of 7.4 ms. With
`keep_freed_memory`, blocks below half the limit come from the heap, and up to the limit of
freed memory stays with the process for the next request: no fresh pages once it is warm.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import platform

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


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(limit: int) -> bool:
    """Let glibc keep up to `limit` bytes of freed heap per arena for reuse; True if it took.

    Blocks smaller than half the limit are taken from the heap instead of being mapped afresh.
    The process's peak memory stays what its work needs; it only returns less of it between
    peaks. Does nothing (False) for a `limit` of 0 or on a C library other than glibc.
    """
    if limit <= 0 or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    # mallopt takes an int, and refuses an mmap threshold above 32 MiB on 64-bit systems.
    limit = min(limit, 2**31 - 1)
    return bool(
        mallopt(_M_MMAP_THRESHOLD, min(limit // 2, 32 * 1024 * 1024))
        and mallopt(_M_TRIM_THRESHOLD, limit)
    )
