"""The audit trail is tamper-evident: `eantrag audit verify` finds an entry that was changed,
deleted or inserted behind the application's back, names the case and position, and exits 1.
Concurrent writers on one case never fork the chain."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest.mock import patch

import httpx
import pytest
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from bootstrap.cli import app
from casefile import audit
from casefile.models import AuditEntry, Vorgang
from eantrag.runtime import Runtime
from tests.casefile.support import DRESDEN_ID, authority_message, bearer, file_directly, issue_token


async def _setup(runtime: Runtime) -> tuple[Vorgang, Vorgang, str]:
    """Two cases with three entries each: filed, and two notes."""
    token = (await issue_token(runtime.db, DRESDEN_ID)).token
    first = await file_directly(runtime, await authority_message(runtime.blobs))
    second = await file_directly(runtime, await authority_message(runtime.blobs))
    return first, second, token


async def _notes(client: httpx.AsyncClient, case: Vorgang, token: str, *texts: str) -> None:
    for text in texts:
        response = await client.post(
            f"/v1/cases/{case.id}/notes", json={"text": text}, headers=bearer(token)
        )
        assert response.status_code == 201, response.text


async def _verify(runtime: Runtime) -> audit.Verification:
    async with runtime.db.sessionmaker() as session:
        return await audit.verify(session, DRESDEN_ID)


async def _entry(runtime: Runtime, case: Vorgang, seq: int) -> AuditEntry:
    async with runtime.db.sessionmaker() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.vorgang_id == case.id, AuditEntry.seq == seq)
        )
    assert entry is not None
    return entry


async def change_content(runtime: Runtime, case: Vorgang) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.vorgang_id == case.id, AuditEntry.seq == 2)
            .values(new_value={"text": "nichts Besonderes"})
        )


async def change_and_rehash(runtime: Runtime, case: Vorgang) -> None:
    """A careful forger also recomputes the changed entry's own hash."""
    entry = await _entry(runtime, case, 2)
    entry.actor = "someone:else"
    forged = audit.entry_hash(entry)
    async with runtime.db.transaction() as session:
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.id == entry.id)
            .values(actor="someone:else", hash=forged)
        )


async def delete_middle(runtime: Runtime, case: Vorgang) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(
            delete(AuditEntry).where(AuditEntry.vorgang_id == case.id, AuditEntry.seq == 2)
        )


async def delete_last(runtime: Runtime, case: Vorgang) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(
            delete(AuditEntry).where(AuditEntry.vorgang_id == case.id, AuditEntry.seq == 3)
        )


async def insert_at_the_end(runtime: Runtime, case: Vorgang) -> None:
    """A well-formed entry, correctly chained to the last one, that the case never wrote."""
    last = await _entry(runtime, case, 3)
    forged = AuditEntry(
        vorgang_id=case.id,
        seq=4,
        at=last.at,
        actor="clerk:nobody",
        action="note",
        old_value=None,
        new_value={"text": "nachträglich"},
        prev_hash=last.hash,
    )
    forged.hash = audit.entry_hash(forged)
    async with runtime.db.transaction() as session:
        session.add(forged)


TAMPERING: dict[str, tuple[Any, int, str]] = {
    "changed": (change_content, 2, "changed"),
    "changed and rehashed": (change_and_rehash, 3, "does not link"),
    "deleted in the middle": (delete_middle, 2, "missing (deleted)"),
    "deleted at the end": (delete_last, 3, "missing at the end"),
    "inserted at the end": (insert_at_the_end, 4, "inserted"),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_verify_finds_tampering_and_names_case_and_position(
    client: httpx.AsyncClient, runtime: Runtime, kind: str
) -> None:
    first, second, token = await _setup(runtime)
    await _notes(client, first, token, "Antrag geprüft", "Hund gechippt")
    await _notes(client, second, token, "Unterlagen vollständig", "OK")
    clean = await _verify(runtime)
    assert clean.ok and clean.cases == 2 and clean.entries == 6

    tamper, position, problem = TAMPERING[kind]
    await tamper(runtime, second)
    result = await _verify(runtime)
    assert not result.ok
    assert {b.case_id for b in result.breaks} == {second.id}, "only the tampered case"
    assert any(b.position == position and problem in b.problem for b in result.breaks), (
        result.breaks
    )
    response = await client.get(f"/v1/cases/{second.id}/audit", headers=bearer(token))
    assert response.json()["verified"] is False


def _cli(url: str, *args: str) -> Any:
    # The command would point the process's logging at the runner's captured (then closed)
    # stderr; the workers of later tests still log.
    with patch("eantrag.cli.configure_logging"):
        return CliRunner().invoke(app, list(args), env={"EANTRAG_DATABASE_URL": url})


async def test_audit_verify_exits_1_on_a_broken_chain(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, second, token = await _setup(runtime)
    await _notes(client, second, token, "eins", "zwei")
    ok = await asyncio.to_thread(_cli, runtime.db.url, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "2 case(s), 4 entries checked; 0 problem(s)" in ok.output
    await delete_middle(runtime, second)
    broken = await asyncio.to_thread(
        _cli, runtime.db.url, "audit", "verify", "--authority", DRESDEN_ID
    )
    assert broken.exit_code == 1, broken.output
    assert f"BROKEN case {second.id}" in broken.output and "at entry 2" in broken.output
    other = await asyncio.to_thread(
        _cli, runtime.db.url, "audit", "verify", "--authority", "stadt-leipzig"
    )
    assert other.exit_code == 0, "another authority's trail is not affected"


async def test_concurrent_writers_on_one_case_do_not_fork_the_chain(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    case, _, token = await _setup(runtime)
    document = (await client.get(f"/v1/cases/{case.id}", headers=bearer(token))).json()[
        "documents"
    ][0]["href"]

    async def note(n: int) -> int:
        response = await client.post(
            f"/v1/cases/{case.id}/notes", json={"text": f"Vermerk {n}"}, headers=bearer(token)
        )
        return response.status_code

    async def read() -> int:
        return (await client.get(document, headers=bearer(token))).status_code

    codes = await asyncio.gather(*(note(n) for n in range(12)), *(read() for _ in range(8)))
    assert set(codes) <= {200, 201}
    async with runtime.db.sessionmaker() as session:
        seqs = sorted(
            await session.scalars(select(AuditEntry.seq).where(AuditEntry.vorgang_id == case.id))
        )
        head = await session.scalar(select(Vorgang.audit_seq).where(Vorgang.id == case.id))
        total = await session.scalar(select(func.count()).select_from(AuditEntry))
    assert seqs == list(range(1, 22)) and head == 21
    assert total == 22  # plus the other case's `filed`
    assert (await _verify(runtime)).ok


def test_the_canonical_form_is_stable() -> None:
    """The hash input does not depend on key order or the time zone of the timestamp."""
    case = uuid.UUID(int=1)
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    one = audit.canonical(case, 1, at, "a", "note", None, {"b": 1, "a": [1, {"y": 2, "x": 1}]})
    two = audit.canonical(
        case,
        1,
        at.astimezone(timezone(timedelta(hours=1))),
        "a",
        "note",
        None,
        {"a": [1, {"x": 1, "y": 2}], "b": 1},
    )
    assert one == two
    assert audit.chain_hash(audit.GENESIS, one) != audit.chain_hash("1" * 64, one)
