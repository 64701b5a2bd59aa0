"""Helpers for routing tests: the demo directory, application.received messages, worker runs."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from bootstrap.app import run_workers, stop_workers
from eantrag.broker import INTAKE_EXCHANGE
from eantrag.db import Database
from eantrag.models import QueuedMessage
from eantrag.outbox import add_message
from eantrag.runtime import Runtime
from routing import service
from routing.directory import DirectoryBatch
from routing.xzufi import read_xzufi
from tests.conftest import EXAMPLES

DIRECTORY = EXAMPLES / "directory-sachsen.xml"
DOG = "99102013104000"
WOHNGELD = "99107023037000"
DRESDEN = "146120000000"
LEIPZIG = "147130000000"
CHEMNITZ = "145110000000"
NIEDERWUERSCHNITZ = "145215115430"
PIRNA_FICTITIOUS = "146289990901"
STRUPPEN_FICTITIOUS = "146289990902"


async def import_batch(db: Database, batch: DirectoryBatch) -> service.ImportReport:
    async with db.transaction() as session:
        return await service.import_directory(session, batch)


async def import_example(db: Database, path: Path = DIRECTORY) -> service.ImportReport:
    return await import_batch(db, read_xzufi(path))


def received(
    *,
    leika: str = DOG,
    ars: str | None = DRESDEN,
    plz: str | None = "01069",
    application_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """An `application.received` body as intake publishes it."""
    sha = uuid.uuid4().hex * 2
    return {
        "applicationId": str(application_id or uuid.uuid4()),
        "formId": "hundeanmeldung" if leika == DOG else "wohngeld-mietzuschuss",
        "leikaUrn": f"urn:de:fim:leika:leistung:{leika}",
        "receivedAt": datetime.now(UTC).isoformat(),
        "postleitzahl": plz,
        "ars": ars,
        "original": {
            "blobKey": f"sha256/{sha[:2]}/{sha[2:4]}/{sha}",
            "sha256": sha,
            "sha512": sha * 2,
            "size": 1234,
            "mediaType": "application/xml",
        },
        "attachments": [],
        "record": {"halter": {"familienname": "Muster"}},
    }


async def stage_received(
    db: Database, bodies: list[dict[str, Any]], headers: dict[str, Any] | None = None
) -> list[uuid.UUID]:
    """Commit `application.received` messages to the outbox, as intake's accept does."""
    ids = []
    async with db.transaction() as session:
        for body in bodies:
            ids.append(
                add_message(
                    session,
                    exchange=INTAKE_EXCHANGE,
                    routing_key="application.received",
                    type="application.received",
                    payload=body,
                    headers=headers,
                )
            )
    return ids


@contextlib.asynccontextmanager
async def workers(runtime: Runtime, *names: str) -> AsyncIterator[None]:
    tasks = await run_workers(runtime, list(names))
    try:
        yield
    finally:
        await stop_workers(tasks)


async def wait_for(
    check: Callable[[], Awaitable[bool]], within: float = 20.0, interval: float = 0.1
) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


async def queue_bodies(db: Database, queue: str) -> list[dict[str, Any]]:
    """The messages now in a queue of the in-database broker."""
    async with db.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(QueuedMessage).where(QueuedMessage.queue == queue).order_by(QueuedMessage.id)
            )
        ).all()
    return [{"id": r.message_id, "headers": r.headers, "body": orjson.loads(r.body)} for r in rows]


async def queue_depth(db: Database, queue: str) -> int:
    async with db.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(QueuedMessage).where(QueuedMessage.queue == queue)
            )
            or 0
        )
