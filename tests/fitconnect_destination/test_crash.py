"""A worker killed between filing and answering answers exactly once after its restart.

The worker is a real `eantrag worker fitconnect` process, killed with SIGKILL while the
Zustelldienst holds its event post without replying.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from eantrag.db import Database
from eantrag.settings import Settings
from fitconnect_destination import repository
from fitconnect_destination.models import ANSWERED
from tests.fitconnect_destination.conftest import KeyFiles, Zustelldienst
from tests.fitconnect_destination.test_exchange import send_wohngeld


def start_worker(
    settings: Settings,
    zustelldienst: Zustelldienst,
    keys: KeyFiles,
    log: Path,
    *command: str,
    **extra: str,
) -> subprocess.Popen[bytes]:
    """`eantrag worker fitconnect` (or the given command) as a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EANTRAG_")}
    env.update(
        {
            "EANTRAG_DATABASE_URL": settings.effective_database_url,
            "EANTRAG_DATA_DIR": str(settings.data_dir),
            "EANTRAG_BLOB_URL": settings.effective_blob_url,
            "EANTRAG_LOG_FORMAT": "json",
            "EANTRAG_GC_FREEZE": "false",
            "EANTRAG_FITCONNECT_SUBMISSION_API": zustelldienst.url,
            "EANTRAG_FITCONNECT_TOKEN_URL": zustelldienst.url + "/token",
            "EANTRAG_FITCONNECT_CLIENT_ID": zustelldienst.state.client_id,
            "EANTRAG_FITCONNECT_CLIENT_SECRET": zustelldienst.state.client_secret,
            "EANTRAG_FITCONNECT_DESTINATION_ID": zustelldienst.destination_id,
            "EANTRAG_FITCONNECT_KEYS": str(keys.private_path),
            "EANTRAG_FITCONNECT_POLL_INTERVAL_SECONDS": "0.3",
            **extra,
        }
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bootstrap", *(command or ("worker", "fitconnect"))],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def until(condition: Callable[[], Awaitable[bool]], what: str, log: Path) -> None:
    for _ in range(300):
        if await condition():
            return
        await asyncio.sleep(0.1)
    tail = (await asyncio.to_thread(log.read_text))[-3000:]
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{tail}")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("reply_lost", ["before-record", "after-record"])
async def test_a_worker_killed_before_its_answer_was_confirmed_answers_exactly_once(
    settings: Settings,
    zustelldienst: Zustelldienst,
    destination_keys: KeyFiles,
    tmp_path: Path,
    reply_lost: str,
) -> None:
    state = zustelldienst.state
    submission_id, case_id = await send_wohngeld(zustelldienst)
    state.hang_event_posts = reply_lost
    log = tmp_path / "worker.log"
    db = Database(settings.effective_database_url, pool_size=2)

    async def row_state() -> str | None:
        async with db.sessionmaker() as session:
            row = await repository.get(session, submission_id)
        return None if row is None else str(row["state"])

    async def event_in_flight() -> bool:
        if reply_lost == "after-record":
            return case_id in state.events
        return state.event_posts >= 1

    worker = start_worker(settings, zustelldienst, destination_keys, log)
    try:
        await until(event_in_flight, "the event post", log)
        assert await row_state() == "filed"  # filed in intake, the answer not confirmed
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        state.hang_event_posts = None

        worker = start_worker(settings, zustelldienst, destination_keys, log)

        async def answered() -> bool:
            return await row_state() == ANSWERED

        await until(answered, "the answer after the restart", log)
        await asyncio.sleep(1.0)  # a few more passes: nothing more may be sent
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
        await db.dispose()

    assert len(state.events[case_id]) == 1
    claims = state.decoded_events(case_id)[0]
    assert list(claims["events"]) == [
        "https://schema.fitko.de/fit-connect/events/accept-submission"
    ]
    # after-record: the event arrived before the kill, so the restart only looks it up.
    assert state.event_posts == (1 if reply_lost == "after-record" else 2)
    async with db.sessionmaker() as session:
        from sqlalchemy import func, select

        from intake.models import Application

        assert await session.scalar(select(func.count()).select_from(Application)) == 1
