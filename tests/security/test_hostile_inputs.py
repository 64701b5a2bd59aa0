"""Every case of the hostile-input corpus, on the embedded default and on PostgreSQL: the designed
answer, nothing stored (no row, no blob, no outbox message), no file opened, no connection made,
and for large inputs a bounded peak of memory and time."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from eantrag.models import OutboxMessage
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from intake.models import Application, Attachment, StatusEvent
from tests.conftest import stored_blobs
from tests.intake.test_submit import count
from tests.security.conftest import Listener, fifo_untouched
from tests.security.hostile import CORPUS, Env, Hostile, permissive_xsd

MiB = 1024 * 1024
PEAK_MEMORY_BOUND = 128 * MiB
"""Extra resident memory one large hostile request may cost (inputs up to 25 MiB; the body the
test holds and the ASGI transport's copy of it count too)."""
TIME_BOUND = 20.0


def _status_kib() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak() -> int | None:
    """Reset the kernel's peak-RSS mark; the current RSS in bytes (None where unsupported)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_kib()["VmRSS"] * 1024


def peak_since_reset() -> int:
    return _status_kib()["VmHWM"] * 1024


async def snapshot(runtime: Runtime, settings: Settings) -> tuple[list[int], set[str]]:
    """Rows in every table a submission writes, and the stored blobs."""
    tables = (Application, Attachment, StatusEvent, OutboxMessage)
    return [await count(runtime, table) for table in tables], await stored_blobs(runtime, settings)


async def forget_messages(runtime: Runtime) -> None:
    """Each accepted case is a variant of an example with its nachrichtenUUID: without this,
    the second one would be a repeat of the first (409)."""
    async with runtime.db.transaction() as session:
        await session.execute(update(Application).values(message_uuid=None))


async def answer_of(
    case: Hostile,
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    env: Env,
    listener: Listener,
) -> list[str]:
    """What is wrong with the intake's answer to one case (nothing: an empty list)."""
    body, content_type = case.build(env)
    if case.status == 202:
        await forget_messages(runtime)
    before = await snapshot(runtime, settings)
    connections = listener.connections
    rss = reset_peak() if case.big else None
    started = time.monotonic()
    try:
        response = await asyncio.wait_for(
            client.post("/v1/applications", content=body, headers={"content-type": content_type}),
            timeout=TIME_BOUND,
        )
    except TimeoutError:
        return [f"no answer within {TIME_BOUND}s (a parser blocked on a file or the network?)"]
    elapsed = time.monotonic() - started
    peak = peak_since_reset() - rss if rss is not None else 0
    del body

    wrong = []
    if response.status_code != case.status:
        return [f"status {response.status_code}, expected {case.status}: {response.text[:500]}"]
    answer = response.json()
    if case.status == 202:
        if answer["status"] != case.code:
            wrong.append(f"receipt status {answer['status']}")
    else:
        if response.headers["content-type"] != "application/problem+json":
            wrong.append(f"content type {response.headers['content-type']}")
        codes = {answer["code"], *(p["code"] for p in answer.get("invalid_params", []))}
        if case.code not in codes:
            wrong.append(f"codes {sorted(codes)}, expected {case.code}")
        if len(answer.get("invalid_params", [])) > 100:
            wrong.append("more than 100 violations listed")
        if await snapshot(runtime, settings) != before:
            wrong.append("a refused request left a row, an outbox message or a blob")
    if not fifo_untouched(env.fifo):
        wrong.append("a parser opened the named pipe")
    if listener.connections != connections:
        wrong.append("a parser connected to the network")
    if case.big and elapsed > TIME_BOUND / 2:
        wrong.append(f"took {elapsed:.1f}s")
    if case.big and peak > PEAK_MEMORY_BOUND:
        wrong.append(f"cost {peak / MiB:.0f} MiB of memory")
    return wrong


@pytest.mark.slow
async def test_every_hostile_input_gets_its_designed_answer_and_leaves_no_trace(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    tmp_path: Path,
    listener: Listener,
) -> None:
    evil_xsd = tmp_path / "permissive.xsd"
    evil_xsd.write_bytes(permissive_xsd())
    failures: dict[str, list[str]] = {}
    for number, case in enumerate(CORPUS):
        fifo = tmp_path / f"secret-{number}.fifo"
        os.mkfifo(fifo)
        env = Env(fifo=fifo, http=listener.url, permissive_xsd=evil_xsd)
        wrong = await answer_of(case, client, runtime, settings, env, listener)
        if wrong:
            failures[case.id] = wrong
    assert not failures, "\n".join(f"{case}: {'; '.join(w)}" for case, w in failures.items())
    assert len(CORPUS) >= 100
