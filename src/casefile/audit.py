"""The audit trail of a case: append-only, each entry chained to the one before by SHA-256.

`hash = SHA-256(prev_hash ‖ "\\n" ‖ canonical entry)`, where the canonical entry is the JSON
of case id, position, time, actor, action, old and new value with sorted keys. The case row keeps
the head (position and hash of the last entry) and every append updates it, so concurrent writers
of one case serialise on that row and the unique (case, position) constraint backs it up. Changing
an entry breaks its hash; deleting or inserting one breaks the positions, the links or the head.
Someone who can rewrite the whole chain *and* the head can hide it, so `verify` also prints a root
digest over all heads that an operator can record outside the database.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casefile.models import Akte, AuditEntry, Vorgang
from eantrag.db import utcnow

GENESIS = "0" * 64


def canonical(
    case_id: uuid.UUID,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    old_value: Any,
    new_value: Any,
) -> bytes:
    return orjson.dumps(
        {
            "case": str(case_id),
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "old": old_value,
            "new": new_value,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def chain_hash(prev_hash: str, entry: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + entry).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    body = canonical(
        entry.vorgang_id,
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.old_value,
        entry.new_value,
    )
    return chain_hash(entry.prev_hash, body)


def append(
    session: AsyncSession,
    case: Vorgang,
    *,
    actor: str,
    action: str,
    old_value: Any = None,
    new_value: Any = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add the next entry; the caller holds the case row locked (or just created it)."""
    entry = next_entry(
        case, actor=actor, action=action, old_value=old_value, new_value=new_value, at=at
    )
    session.add(entry)
    return entry


def next_entry(
    case: Vorgang,
    *,
    actor: str,
    action: str,
    old_value: Any = None,
    new_value: Any = None,
    at: datetime | None = None,
) -> AuditEntry:
    """The next entry, chained to the case's head, which moves to it; the caller stores it."""
    entry = AuditEntry(
        vorgang_id=case.id,
        seq=case.audit_seq + 1,
        at=at or utcnow(),
        actor=actor,
        action=action,
        old_value=old_value,
        new_value=new_value,
        prev_hash=case.audit_head,
    )
    entry.hash = entry_hash(entry)
    case.audit_seq = entry.seq
    case.audit_head = entry.hash
    return entry


@dataclass(frozen=True)
class Break:
    """One place where a case's trail is not what was written."""

    case_id: uuid.UUID
    file_reference: str
    position: int
    problem: str


@dataclass
class Verification:
    cases: int
    entries: int
    breaks: list[Break]
    root: str

    @property
    def ok(self) -> bool:
        return not self.breaks


def check_chain(
    case_id: uuid.UUID,
    file_reference: str,
    head_seq: int,
    head_hash: str,
    entries: Iterable[AuditEntry],
) -> list[Break]:
    """Walk one case's entries in position order against its recorded head."""
    breaks: list[Break] = []

    def broken(position: int, problem: str) -> None:
        breaks.append(Break(case_id, file_reference, position, problem))

    expected = 1
    prev = GENESIS
    last_seq = 0
    for entry in entries:
        if entry.seq < expected:
            broken(entry.seq, "an entry is out of order (inserted)")
            continue
        if entry.seq > expected:
            missing = (
                f"entry {expected}"
                if entry.seq == expected + 1
                else f"entries {expected}–{entry.seq - 1}"
            )
            broken(expected, f"{missing} missing (deleted)")
        elif entry.prev_hash != prev:
            broken(entry.seq, "does not link to the entry before it (inserted or replaced)")
        if entry_hash(entry) != entry.hash:
            broken(entry.seq, "content does not match its hash (changed)")
        prev = entry.hash
        last_seq = entry.seq
        expected = entry.seq + 1
    if last_seq < head_seq:
        broken(last_seq + 1, f"entries {last_seq + 1}–{head_seq} missing at the end (deleted)")
    elif last_seq > head_seq:
        broken(head_seq + 1, "entries beyond the recorded head (inserted)")
    elif prev != head_hash:
        broken(last_seq, "the last entry is not the recorded head (replaced)")
    return breaks


async def _entries(
    session: AsyncSession, case_ids: list[uuid.UUID]
) -> AsyncIterator[tuple[uuid.UUID, list[AuditEntry]]]:
    rows = await session.stream_scalars(
        select(AuditEntry)
        .where(AuditEntry.vorgang_id.in_(case_ids))
        .order_by(AuditEntry.vorgang_id, AuditEntry.seq, AuditEntry.id)
    )
    current: uuid.UUID | None = None
    group: list[AuditEntry] = []
    async for entry in rows:
        if entry.vorgang_id != current:
            if current is not None:
                yield current, group
            current, group = entry.vorgang_id, []
        group.append(entry)
    if current is not None:
        yield current, group


async def verify(
    session: AsyncSession, authority_id: str | None = None, *, batch: int = 500
) -> Verification:
    """Check every case's chain (of one authority, or all), in batches of cases."""
    query = (
        select(Vorgang.id, Vorgang.audit_seq, Vorgang.audit_head, Akte.aktenzeichen)
        .join(Akte, Akte.id == Vorgang.akte_id)
        .order_by(Vorgang.id)
    )
    if authority_id is not None:
        query = query.where(Vorgang.authority_id == authority_id)
    heads = (await session.execute(query)).all()
    breaks: list[Break] = []
    entries = 0
    root = hashlib.sha256()
    for start in range(0, len(heads), batch):
        chunk = heads[start : start + batch]
        by_case: dict[uuid.UUID, list[AuditEntry]] = {}
        async for case_id, group in _entries(session, [row.id for row in chunk]):
            by_case[case_id] = group
        for row in chunk:
            group = by_case.get(row.id, [])
            entries += len(group)
            breaks.extend(
                check_chain(row.id, row.aktenzeichen, row.audit_seq, row.audit_head, group)
            )
            root.update(f"{row.id}:{row.audit_seq}:{row.audit_head}\n".encode())
        session.expunge_all()
    return Verification(cases=len(heads), entries=entries, breaks=breaks, root=root.hexdigest())
