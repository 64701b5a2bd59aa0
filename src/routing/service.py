"""Routing's use cases: resolve the responsible authority, import the directory, route and record.

Resolution (the Zuständigkeitsfinder) is pure: `choose()` gets the candidates for the five
prefixes of the applicant's ARS and picks the most specific area; several authorities for that
same area are a conflict in the directory and go to triage, never to one of them by chance.
`DirectoryIndex` holds the whole directory in memory for callers that want no query per decision
(the bench compares both); the router queries, so it always sees the directory as committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.application import (
    AuthorityMessage,
    AuthorityRef,
    ReceivedApplication,
    RoutingInfo,
    UnroutableApplication,
)
from contracts.status import CitizenStatus, StatusChanged, published, record_changes
from eantrag.db import insert_rows, utcnow
from eantrag.models import OutboxMessage
from eantrag.outbox import outbox_table
from routing import repository
from routing.csvformat import read_csv
from routing.directory import (
    AREA_KEY_LENGTHS,
    DirectoryBatch,
    InvalidKey,
    Rejection,
    leika_key,
    prefixes,
)
from routing.models import Authority, RoutingDecision
from routing.xzufi import XzufiBatch, read_xzufi


@dataclass(frozen=True)
class Candidate:
    """An authority responsible for a service in an area."""

    area_key: str
    authority_id: str
    name: str
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None

    @classmethod
    def of(cls, area_key: str, authority: Authority) -> Candidate:
        return cls(
            area_key=area_key,
            authority_id=authority.id,
            name=authority.name,
            street=authority.street,
            house_number=authority.house_number,
            postcode=authority.postcode,
            city=authority.city,
            phone=authority.phone,
            email=authority.email,
            url=authority.url,
        )


@dataclass(frozen=True)
class Decision:
    """The outcome for one application: an authority, or the reason why none."""

    authority: Candidate | None
    ars: str | None
    reason: str | None = None

    @property
    def routed(self) -> bool:
        return self.authority is not None


def choose(ars: str, candidates: Iterable[Candidate]) -> Decision:
    """Most specific area wins: the 12-digit key, then 9, 5, 3, 2 digits."""
    by_area: dict[str, dict[str, Candidate]] = {}
    for candidate in candidates:
        by_area.setdefault(candidate.area_key, {})[candidate.authority_id] = candidate
    for area in prefixes(ars):
        found = by_area.get(area)
        if not found:
            continue
        if len(found) > 1:
            names = ", ".join(sorted(c.name for c in found.values()))
            return Decision(
                None, ars, f"the directory names {len(found)} authorities for area {area}: {names}"
            )
        return Decision(next(iter(found.values())), ars)
    return Decision(
        None,
        ars,
        f"no authority in the directory is responsible for ARS {ars} or an area containing it",
    )


@dataclass(frozen=True)
class PostcodeLookup:
    ars: str | None
    reason: str | None = None


def ars_from_postcode(plz: str, areas: list[tuple[str, str | None]]) -> PostcodeLookup:
    """A postcode names a municipality only when it reaches into exactly one."""
    distinct = sorted({ars for ars, _ in areas})
    if len(distinct) == 1:
        return PostcodeLookup(distinct[0])
    if not distinct:
        return PostcodeLookup(None, f"no ARS given and postcode {plz} is not in the directory")
    places = ", ".join(sorted({place or ars for ars, place in areas}))
    return PostcodeLookup(
        None, f"no ARS given and postcode {plz} spans several municipalities ({places})"
    )


def applicant_ars(ars: str | None) -> str | None:
    """The applicant's ARS if it is usable as an area key (else None)."""
    if ars and ars.isdigit() and len(ars) in AREA_KEY_LENGTHS:
        return ars
    return None


async def applicant_region(
    session: AsyncSession, ars: str | None, postcode: str | None
) -> str | None:
    """The ARS routing would decide by: the applicant's own, else the one municipality their
    postcode lies in; None when neither establishes one (the application goes to triage)."""
    if ars is not None:
        return applicant_ars(ars)
    if not postcode:
        return None
    areas = [(row.ars, row.place) for row in await repository.postcode_areas(session, [postcode])]
    return ars_from_postcode(postcode, areas).ars


@dataclass(frozen=True)
class Query:
    """Who asks: the service, and the applicant's ARS or else postcode."""

    service: str
    ars: str | None
    postcode: str | None = None


async def resolve_many(session: AsyncSession, queries: Sequence[Query]) -> list[Decision]:
    """Decide for many applications with two queries (postcodes, candidates), whatever their
    number: the router decides a whole group of deliveries in one transaction."""
    postcodes = {q.postcode for q in queries if q.ars is None and q.postcode}
    areas_by_postcode: dict[str, list[tuple[str, str | None]]] = {}
    if postcodes:
        for row in await repository.postcode_areas(session, postcodes):
            areas_by_postcode.setdefault(row.postcode, []).append((row.ars, row.place))
    areas = [_area_of(q, areas_by_postcode) for q in queries]
    wanted = [(q.service, a) for q, a in zip(queries, areas, strict=True) if isinstance(a, str)]
    found: dict[tuple[str, str], list[Candidate]] = {}
    if wanted:
        rows = await repository.candidates(
            session, {s for s, _ in wanted}, {p for _, a in wanted for p in prefixes(a)}
        )
        for leika, area, authority in rows:
            found.setdefault((leika, area), []).append(Candidate.of(area, authority))
    return [
        choose(area, (c for p in prefixes(area) for c in found.get((query.service, p), ())))
        if isinstance(area, str)
        else area
        for query, area in zip(queries, areas, strict=True)
    ]


def _area_of(
    query: Query, areas_by_postcode: dict[str, list[tuple[str, str | None]]]
) -> str | Decision:
    """The area key to resolve for, or the decision that there is none."""
    if query.ars is not None:
        if applicant_ars(query.ars) is None:
            return Decision(None, query.ars, f"{query.ars!r} is not an ARS")
        return query.ars
    if not query.postcode:
        return Decision(None, None, "neither an ARS nor a postcode of the applicant is known")
    lookup = ars_from_postcode(query.postcode, areas_by_postcode.get(query.postcode, []))
    if lookup.ars is None:
        return Decision(None, None, lookup.reason)
    return lookup.ars


async def resolve(
    session: AsyncSession, service: str, ars: str | None, plz: str | None = None
) -> Decision:
    """The authority for a service and a place: by ARS, or by an unambiguous postcode."""
    [decision] = await resolve_many(session, [Query(service, ars, plz)])
    return decision


async def find_routes(
    session: AsyncSession, service: str, area: str
) -> tuple[str | None, list[Candidate]]:
    """For the routes API: every authority at the most specific matching area."""
    rows = await repository.candidates(session, [service], prefixes(area))
    for prefix in prefixes(area):
        found = [Candidate.of(a, authority) for _, a, authority in rows if a == prefix]
        if found:
            return prefix, found
    return None, []


@dataclass
class DirectoryIndex:
    """The directory in memory: one dictionary lookup per prefix, no query."""

    responsibilities: dict[tuple[str, str], list[Candidate]] = field(default_factory=dict)
    postcodes: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession) -> DirectoryIndex:
        index = cls()
        for responsibility, authority in await repository.all_responsibilities(session):
            index.responsibilities.setdefault(
                (responsibility.leika_key, responsibility.area_key), []
            ).append(Candidate.of(responsibility.area_key, authority))
        for area in await repository.all_postcodes(session):
            index.postcodes.setdefault(area.postcode, []).append((area.ars, area.place))
        return index

    def resolve(self, service: str, ars: str | None, plz: str | None = None) -> Decision:
        area = _area_of(Query(service, ars, plz), self.postcodes)
        if not isinstance(area, str):
            return area
        return choose(
            area, (c for p in prefixes(area) for c in self.responsibilities.get((service, p), ()))
        )


# --- import ---------------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """`xzufi` or `csv`, by extension, else by the first character of the content."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return "xzufi"
    if suffix == ".csv":
        return "csv"
    with path.open("rb") as handle:
        head = handle.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "xzufi" if head.startswith(b"<") else "csv"


def read_file(path: Path, fmt: str | None = None) -> DirectoryBatch:
    fmt = fmt or detect_format(path)
    if fmt == "xzufi":
        return read_xzufi(path)
    if fmt == "csv":
        return read_csv(path)
    raise ValueError(f"unknown format {fmt!r}; use xzufi or csv")


@dataclass
class ImportReport:
    services: int = 0
    authorities: int = 0
    responsibilities: int = 0
    postcodes: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    conflicts: list[repository.Conflict] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    authority_ids: list[str] = field(default_factory=list)


async def import_directory(session: AsyncSession, batch: DirectoryBatch) -> ImportReport:
    """Apply a parsed file: upsert services and authorities, replace their responsibilities."""
    if isinstance(batch, XzufiBatch) and batch.service_refs:
        known = await repository.services_by_xzufi_id(session, (r.ref for r in batch.service_refs))
        for ref in batch.service_refs:
            if ref.ref in known:
                batch.add_responsibilities(
                    ref.authority_id, known[ref.ref], ref.area_keys, ref.role
                )
            else:
                batch.reject(
                    "zustaendigkeit",
                    f"{ref.authority_id} leistungID {ref.ref!r}",
                    "names no leistung of this file or the directory, and is no LeiKa URN",
                    ref.line,
                )
        batch.service_refs = []

    touched = batch.authorities_touched
    existing = await repository.existing_authorities(session, touched - set(batch.authorities))
    responsibilities = []
    for row in batch.responsibilities:
        if row.authority_id in batch.authorities or row.authority_id in existing:
            responsibilities.append(row)
        else:
            batch.reject(
                "responsibility",
                f"{row.authority_id} {row.leika_key} {row.area_key}",
                "names an authority that is neither in this file nor in the directory",
            )
    replaced = set(batch.authorities) | {r.authority_id for r in responsibilities}

    await repository.upsert_services(session, batch.services, batch.service_ids)
    await repository.upsert_authorities(session, batch.authorities.values())
    await repository.replace_responsibilities(session, replaced, responsibilities)
    await repository.replace_postcodes(session, batch.postcodes)
    await session.flush()
    all_conflicts = await repository.conflicts(session)
    return ImportReport(
        services=len(batch.services),
        authorities=len(batch.authorities),
        responsibilities=len(responsibilities),
        postcodes=len({(p.postcode, p.ars) for p in batch.postcodes}),
        rejected=list(batch.rejected),
        conflicts=[c for c in all_conflicts if replaced & set(c.authority_ids)],
        skipped=dict(batch.skipped),
        authority_ids=sorted(replaced),
    )


# --- routing an application -----------------------------------------------------------------


def service_key(received: ReceivedApplication) -> str | None:
    try:
        return leika_key(received.leika_urn)
    except InvalidKey:
        return None


async def decide(
    session: AsyncSession, applications: Sequence[ReceivedApplication]
) -> list[Decision]:
    """Decisions for a group of applications, in their order."""
    queries = []
    for received in applications:
        key = service_key(received)
        queries.append(Query(key, received.ars, received.postleitzahl) if key else None)
    resolved = iter(await resolve_many(session, [q for q in queries if q is not None]))
    return [
        next(resolved)
        if query is not None
        else Decision(None, received.ars, f"{received.leika_urn!r} is not a LeiKa URN")
        for received, query in zip(applications, queries, strict=True)
    ]


@dataclass(frozen=True)
class DecisionRecord:
    """A decision as stored; plain data, so a group of them is one bulk insert."""

    application_id: uuid.UUID
    leika_key: str | None
    ars: str | None
    authority_id: str | None
    authority_name: str | None
    matched_area_key: str | None
    reason: str | None
    decided_at: datetime
    status_event_id: uuid.UUID

    @classmethod
    def of(cls, row: RoutingDecision) -> DecisionRecord:
        return cls(
            row.application_id,
            row.leika_key,
            row.ars,
            row.authority_id,
            row.authority_name,
            row.matched_area_key,
            row.reason,
            row.decided_at,
            row.status_event_id,
        )


async def record_decisions(
    session: AsyncSession,
    decided: Sequence[tuple[ReceivedApplication, Decision]],
) -> list[DecisionRecord]:
    """Store the decisions and stage their messages in the same transaction (the outbox).

    The outbox rows are plain inserts, one executemany for the group: staged as ORM objects
    they cost the router a unit-of-work flush per group, 8 % of its CPU under load
    (`python -m bench pipeline --profile`)."""
    staged = [_stage(received, decision) for received, decision in decided]
    records = [record for record, _ in staged]
    await repository.insert_decisions(session, [vars(r) for r in records])
    await insert_rows(session, [(outbox_table(), row) for _, row in staged])
    # the citizen's timeline, in this transaction (see `contracts.status`)
    await record_changes(session, [status_change(r) for r in records])
    for record in records:
        _stage_status_event(session, record)
    return records


def _stage(
    received: ReceivedApplication, decision: Decision
) -> tuple[DecisionRecord, dict[str, Any]]:
    """A decision and the outbox row of its message."""
    now = utcnow()
    authority = decision.authority
    record = DecisionRecord(
        application_id=received.application_id,
        leika_key=service_key(received),
        ars=decision.ars,
        authority_id=authority.authority_id if authority else None,
        authority_name=authority.name if authority else None,
        matched_area_key=authority.area_key if authority else None,
        reason=decision.reason,
        decided_at=now,
        status_event_id=uuid.uuid4(),
    )
    if authority is not None and decision.ars is not None:
        message = AuthorityMessage(
            application_id=received.application_id,
            form_id=received.form_id,
            leika_urn=received.leika_urn,
            received_at=received.received_at,
            authority=AuthorityRef(id=authority.authority_id, name=authority.name),
            routing=RoutingInfo(
                matched_area_key=authority.area_key,
                ars=decision.ars,
                postleitzahl=received.postleitzahl,
                decided_at=now,
            ),
            record=received.record,
            original=received.original,
            attachments=received.attachments,
        )
        return record, message.outbox_row(message_id=message.delivery_id)
    unroutable = UnroutableApplication(**dict(received), reason=decision.reason, decided_at=now)
    return record, unroutable.outbox_row()


async def repeat_status_event(session: AsyncSession, row: DecisionRecord) -> bool:
    """Put a decision's change into the timeline again where it is missing (a re-drive), and
    send its event again under its own id (consumers drop it if they had it) — not while the
    first one still waits in the outbox: the id is unique there."""
    await record_changes(session, [status_change(row)], repeat=True)
    pending = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.message_id == row.status_event_id)
    )
    if pending is not None:
        return False
    _stage_status_event(session, row)
    return True


def status_change(row: DecisionRecord) -> StatusChanged:
    """The citizen-facing change of a decision (routed, or unroutable with the reason)."""
    detail: dict[str, Any]
    status: CitizenStatus
    if row.authority_id is not None:
        status = "routed"
        detail = {"authority": row.authority_name, "authorityId": row.authority_id}
    else:
        status = "unroutable"
        detail = {"reason": row.reason}
    return StatusChanged(
        application_id=row.application_id, status=status, at=row.decided_at, detail=detail
    )


def _stage_status_event(session: AsyncSession, row: DecisionRecord) -> None:
    """The change's event on the broker, where a queue is bound for it (none is, today)."""
    change = status_change(row)
    if published(change.status):
        change.stage(session, message_id=row.status_event_id)


async def reset_unroutable(
    session: AsyncSession, application_id: uuid.UUID
) -> RoutingDecision | None:
    """Forget an unroutable decision so a re-drive decides again; a delivery is never undone.

    Returns the decision that stays (a routed one), or None when routing may decide afresh.
    """
    existing = await repository.decision(session, application_id)
    if existing is not None and existing.authority_id is None:
        await repository.delete_decision(session, application_id)
        return None
    return existing
