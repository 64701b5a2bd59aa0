"""Group commit: concurrent applications share one transaction, yet each gets its own outcome."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError

from eantrag.db import utcnow
from eantrag.models import OutboxMessage
from eantrag.runtime import Runtime
from intake.models import Application, StatusEvent
from tests.conftest import EXAMPLES, new_message
from tests.intake.test_submit import count

XML = {"content-type": "application/xml"}
DOG = (EXAMPLES / "hundeanmeldung.xml").read_bytes()


def application_row(key: str | None = None) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "form_id": "hundeanmeldung",
        "leika_key": "99102013104000",
        "status": "received",
        "received_at": now,
        "updated_at": now,
        "representation": "xml",
        "media_type": "application/xml",
        "size": 1,
        "sha256": "0" * 64,
        "sha512": "0" * 128,
        "blob_key": "sha256/00/00/" + "0" * 64,
        "record": {},
        "postleitzahl": None,
        "ars": None,
        "idempotency_key": key,
        "fingerprint": "0" * 64,
        "submission_metadata": None,
    }


def unit(key: str | None = None) -> list[tuple[Table, dict[str, Any]]]:
    """An application row and its first timeline entry (the child goes in after its parent)."""
    row = application_row(key)
    event = {
        "application_id": row["id"],
        "at": row["received_at"],
        "status": "received",
        "detail": {},
    }
    return [(StatusEvent.__table__, event), (Application.__table__, row)]  # type: ignore[list-item]


async def test_concurrent_inserts_share_a_transaction(runtime: Runtime) -> None:
    group = runtime.db.group
    before = group.batches
    await asyncio.gather(*(group.insert(unit()) for _ in range(30)))
    assert await count(runtime, Application) == 30
    assert await count(runtime, StatusEvent) == 30
    assert group.batches - before < 30, "inserts that wait together are committed together"


async def test_a_duplicate_key_fails_alone_and_the_rest_of_its_batch_is_committed(
    runtime: Runtime,
) -> None:
    group = runtime.db.group
    await group.insert(unit("portal-1"))
    outcomes = await asyncio.gather(
        *(group.insert(unit(key)) for key in ["a", "portal-1", "b", "c", "c", "d"]),
        return_exceptions=True,
    )
    failed = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, IntegrityError)]
    assert failed in ([1, 3], [1, 4])
    assert all(o is None for i, o in enumerate(outcomes) if i not in failed)
    async with runtime.db.sessionmaker() as session:
        keys = (await session.scalars(select(Application.idempotency_key))).all()
        orphans = await session.scalar(
            select(func.count())
            .select_from(StatusEvent)
            .where(StatusEvent.application_id.not_in(select(Application.id)))
        )
    assert sorted(keys) == ["a", "b", "c", "d", "portal-1"]
    assert orphans == 0, "a failed unit leaves none of its rows behind"


async def test_other_errors_reach_every_request_of_the_batch(runtime: Runtime) -> None:
    broken = unit()
    broken[1][1]["form_id"] = None  # NOT NULL
    outcomes = await asyncio.gather(
        runtime.db.group.insert(unit()), runtime.db.group.insert(broken), return_exceptions=True
    )
    assert isinstance(outcomes[1], Exception)
    assert await count(runtime, Application) == (1 if outcomes[0] is None else 0)


async def test_concurrent_submissions_each_get_their_own_receipt(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async def submit(key: str | None, body: bytes | None = None) -> httpx.Response:
        headers = {**XML, **({"Idempotency-Key": key} if key else {})}
        return await client.post(
            "/v1/applications", content=body or new_message(DOG), headers=headers
        )

    dog = new_message(DOG)
    other = new_message((EXAMPLES / "wohngeld.xml").read_bytes())
    repeated = new_message(DOG)
    responses = await asyncio.gather(
        *(submit(None) for _ in range(12)),
        submit("same", dog),
        submit("same", dog),
        submit("same", dog),
        submit("same", other),
        *(submit(None, repeated) for _ in range(4)),
    )
    plain, same, repeats = responses[:12], responses[12:15], responses[16:]
    # The same message four times at once: filed once, whichever came first.
    assert sorted(r.status_code for r in repeats) == [200, 200, 200, 202]
    assert len({r.json()["applicationId"] for r in repeats}) == 1
    assert [r.status_code for r in plain] == [202] * 12
    assert len({r.json()["applicationId"] for r in plain}) == 12
    # Whichever of the four came first wins the key; the others replay it or conflict with it.
    if responses[15].status_code == 202:
        assert [r.status_code for r in same] == [409] * 3
    else:
        assert responses[15].status_code == 409
        assert sorted(r.status_code for r in same) == [200, 200, 202]
        assert len({r.json()["applicationId"] for r in same}) == 1
    assert await count(runtime, Application) == 14
    assert await count(runtime, OutboxMessage) == 14
    assert await count(runtime, StatusEvent) == 14


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_every_waiting_insert_is_committed_whatever_the_concurrency(
    runtime: Runtime, concurrency: int
) -> None:
    runtime.db.group.concurrency = concurrency
    await asyncio.gather(*(runtime.db.group.insert(unit()) for _ in range(50)))
    assert await count(runtime, Application) == 50
