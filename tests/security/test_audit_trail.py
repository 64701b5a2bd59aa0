"""The audit trail under concurrent writers of several kinds on several cases of two authorities,
while new cases are filed: every successful change has exactly one entry, a refused one none, the
positions have no gaps, and the chain checks out — by `audit.verify` and by recomputing every
hash from what the API returns (`SHA-256(prev ‖ "\\n" ‖ canonical entry)`)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from casefile import audit
from casefile.models import Vorgang
from eantrag.runtime import Runtime
from tests.casefile.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    authority_message,
    bearer,
    file_directly,
    issue_token,
)
from tests.routing.support import WOHNGELD

GENESIS = "0" * 64
TRANSITIONS = [
    {"to": "in_progress"},
    {"to": "decided", "outcome": "granted"},
    {"to": "closed"},
    {"to": "in_progress"},  # reopen, or a conflict
]


def recomputed(case_id: str, entry: dict[str, Any], prev: str) -> str:
    at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00")).astimezone(UTC)
    canonical = json.dumps(
        {
            "case": case_id,
            "seq": entry["seq"],
            "at": at.isoformat(timespec="microseconds"),
            "actor": entry["actor"],
            "action": entry["action"],
            "old": entry["oldValue"],
            "new": entry["newValue"],
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return hashlib.sha256(prev.encode() + b"\n" + canonical).hexdigest()


async def test_concurrent_writers_leave_one_entry_per_change_and_an_unbroken_chain(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    cases = [
        await file_directly(runtime, await authority_message(runtime.blobs, authority))
        for authority in (DRESDEN_ID, DRESDEN_ID, LEIPZIG_ID)
    ]
    tokens = {
        DRESDEN_ID: [
            (await issue_token(runtime.db, DRESDEN_ID, name=f"D{n}")).token for n in range(3)
        ],
        LEIPZIG_ID: [
            (await issue_token(runtime.db, LEIPZIG_ID, name=f"L{n}")).token for n in range(3)
        ],
    }
    rng = random.Random(4711)
    successes: dict[str, Counter[str]] = {str(c.id): Counter() for c in cases}

    async def write(case: Vorgang, n: int) -> None:
        token = rng.choice(tokens[case.authority_id])
        kind = rng.choice(["note", "note", "transition", "document", "read"])
        base = f"/v1/cases/{case.id}"
        if kind == "note":
            response = await client.post(
                f"{base}/notes", json={"text": f"Vermerk {n}"}, headers=bearer(token)
            )
            action = "note"
        elif kind == "transition":
            response = await client.post(
                f"{base}/transitions", json=rng.choice(TRANSITIONS), headers=bearer(token)
            )
            action = "transition"
        elif kind == "document":
            response = await client.post(
                f"{base}/documents",
                content=f"%PDF-1.4 Scan {n}".encode(),
                headers={**bearer(token), "content-type": "application/pdf"},
            )
            action = "document.added"
        else:
            detail = await client.get(base, headers=bearer(token))
            response = await client.get(
                detail.json()["documents"][0]["href"], headers=bearer(token)
            )
            action = "document.read"
        assert response.status_code in (200, 201, 409), (kind, response.text)
        if response.status_code < 300:
            successes[str(case.id)][action] += 1

    async def file_new(n: int) -> None:
        authority = DRESDEN_ID if n % 2 else LEIPZIG_ID
        await file_directly(
            runtime,
            await authority_message(
                runtime.blobs, authority, leika=WOHNGELD if n % 3 == 0 else "99102013104000"
            ),
        )

    await asyncio.gather(
        *(write(cases[n % len(cases)], n) for n in range(90)),
        *(file_new(n) for n in range(10)),
    )

    async with runtime.db.sessionmaker() as session:
        verification = await audit.verify(session)
        all_cases = (await session.scalars(select(Vorgang))).all()
    assert verification.breaks == []
    assert verification.cases == len(all_cases) == len(cases) + 10

    for case in cases:
        token = tokens[case.authority_id][0]
        trail = (await client.get(f"/v1/cases/{case.id}/audit", headers=bearer(token))).json()
        assert trail["verified"] is True and trail["breaks"] == []
        entries = trail["entries"]
        assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1)), "gaps or forks"
        prev = GENESIS
        for entry in entries:
            assert entry["prevHash"] == prev
            assert recomputed(str(case.id), entry, prev) == entry["hash"], entry["seq"]
            prev = entry["hash"]
        actions = Counter(e["action"] for e in entries)
        assert actions["filed"] == 1
        for action, count in successes[str(case.id)].items():
            assert actions[action] == count, (action, actions, successes[str(case.id)])
        assert sum(actions.values()) == 1 + sum(successes[str(case.id)].values())


async def test_a_clerk_never_writes_into_another_authority_s_trail(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    leipzig = await file_directly(runtime, await authority_message(runtime.blobs, LEIPZIG_ID))
    dresden_clerk = (await issue_token(runtime.db, DRESDEN_ID)).token
    attempts = await asyncio.gather(
        *(
            client.post(
                f"/v1/cases/{leipzig.id}/notes",
                json={"text": "fremd"},
                headers=bearer(dresden_clerk),
            )
            for _ in range(10)
        ),
        client.post(
            f"/v1/cases/{leipzig.id}/transitions",
            json={"to": "in_progress"},
            headers=bearer(dresden_clerk),
        ),
    )
    assert {a.status_code for a in attempts} == {404}
    async with runtime.db.sessionmaker() as session:
        case = await session.get(Vorgang, leipzig.id)
    assert case is not None and case.audit_seq == 1, "only the filing is in the trail"
    assert uuid.UUID(str(case.id)) == leipzig.id
