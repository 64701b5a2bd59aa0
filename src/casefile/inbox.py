"""The Posteingang: an authority's cases, newest first, filtered, searched, counted, paged.

The JSON API (`GET /v1/cases`) and the clerk's pages both ask `page`; every rule of the list
(what a filter means, how a search is read, what a cursor holds) lives here.

- Order: `received_at` descending, then the case id descending, so that the order is total.
- Keyset pagination: the cursor is the (received_at, id) of the last case of a page, encoded
  opaquely; the next page starts strictly after it. A case filed meanwhile lands in its place
  in the order: a page never shows a case twice and never skips one that existed when the
  first page was read.
- Search: a UUID is matched against the application id and the case id; anything else is
  normalised (`casefile.applicant.normalise`) and matched as a substring of the applicant's
  names (both orders) and the Aktenzeichen, which filing wrote into `search_key`. A term of one
  or two characters matches the start of a word only: PostgreSQL's trigram index cannot serve a
  substring shorter than three characters (it scanned the whole index: 1 s for "kr" over
  100,000 cases), but it serves a word's start.
- Counts: cases per status for the same authority and the same filters, the status filter
  left out, so that a page can show how many wait in every state.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, get_args

import orjson
from sqlalchemy import ColumnElement, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer, selectinload

from casefile import directory
from casefile.applicant import SEPARATOR, normalise
from casefile.errors import InvalidCursor
from casefile.models import Vorgang
from casefile.schemas import Status

# Every state a case can be in, in lifecycle order; counts name each, zeros included.
STATUSES: tuple[Status, ...] = get_args(Status)
Assigned = Literal["me", "none"]
# Shorter search terms match the start of a word only (see above).
SUBSTRING_MIN = 3


@dataclass(frozen=True)
class InboxQuery:
    """What the clerk asked for. `assigned="me"` needs `me`, the caller's assignee id."""

    status: str | None = None
    leika_key: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    assigned: Assigned | None = None
    me: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class InboxRow:
    case: Vorgang
    """With its Akte loaded; its record and routing data are not loaded."""
    service_name: str | None


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None
    counts: dict[Status, int] = field(default_factory=dict)


def encode_cursor(case: Vorgang) -> str:
    raw = orjson.dumps([case.received_at.isoformat(), str(case.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, case_id = orjson.loads(raw)
        received_at = datetime.fromisoformat(at)
        if received_at.tzinfo is None:
            raise ValueError("no time zone")
        return received_at, uuid.UUID(case_id)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("pass the nextCursor of a previous page unchanged") from exc


def _search_condition(text: str) -> ColumnElement[bool]:
    try:
        wanted = uuid.UUID(text.strip())
    except ValueError:
        pass
    else:
        return or_(Vorgang.application_id == wanted, Vorgang.id == wanted)
    term = normalise(text)
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if len(term) >= SUBSTRING_MIN:
        return Vorgang.search_key.like(f"%{escaped}%", escape="\\")
    return or_(
        *(
            Vorgang.search_key.like(pattern, escape="\\")
            for pattern in (f"{escaped}%", f"% {escaped}%", f"%{SEPARATOR}{escaped}%")
        )
    )


def _conditions(authority_id: str, wanted: InboxQuery) -> list[ColumnElement[bool]]:
    where = [Vorgang.authority_id == authority_id]
    if wanted.status:
        where.append(Vorgang.status == wanted.status)
    if wanted.leika_key:
        where.append(Vorgang.leika_key == wanted.leika_key)
    if wanted.received_from:
        where.append(Vorgang.received_at >= wanted.received_from)
    if wanted.received_to:
        where.append(Vorgang.received_at < wanted.received_to)
    if wanted.assigned == "none":
        where.append(Vorgang.assignee_id.is_(None))
    elif wanted.assigned == "me":
        if wanted.me is None:
            raise ValueError("assigned='me' needs the caller's assignee id")
        where.append(Vorgang.assignee_id == wanted.me)
    if wanted.search and normalise(wanted.search):
        where.append(_search_condition(wanted.search))
    return where


async def cases(
    session: AsyncSession,
    authority_id: str,
    wanted: InboxQuery,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> Sequence[Vorgang]:
    """Up to `limit` cases after the keyset position, newest first, Akte loaded.

    First the ids, from the list index alone on PostgreSQL (it carries every filtered column),
    then those rows."""
    query = select(Vorgang.id).where(*_conditions(authority_id, wanted))
    if after is not None:
        # A row comparison, which PostgreSQL reads as the start of an index range; spelt out
        # as `a < x OR (a = x AND b < y)` it scanned from the top (0.5 s deep in 100,000).
        query = query.where(tuple_(Vorgang.received_at, Vorgang.id) < tuple_(*after))
    query = query.order_by(Vorgang.received_at.desc(), Vorgang.id.desc()).limit(limit)
    ids = list(await session.scalars(query))
    if not ids:
        return []
    rows = await session.scalars(
        select(Vorgang)
        .where(Vorgang.id.in_(ids))
        .options(
            selectinload(Vorgang.akte),
            defer(Vorgang.record, raiseload=True),
            defer(Vorgang.routing, raiseload=True),
        )
    )
    by_id = {case.id: case for case in rows}
    return [by_id[case_id] for case_id in ids]


async def counts(session: AsyncSession, authority_id: str, wanted: InboxQuery) -> dict[Status, int]:
    """Cases per status under the same filters, the status filter left out."""
    query = (
        select(Vorgang.status, func.count())
        .where(*_conditions(authority_id, replace(wanted, status=None)))
        .group_by(Vorgang.status)
    )
    found = {status: int(n) for status, n in (await session.execute(query)).all()}
    return {status: found.get(status, 0) for status in STATUSES}


async def page(
    session: AsyncSession,
    authority_id: str,
    wanted: InboxQuery,
    *,
    limit: int,
    cursor: str | None = None,
    with_counts: bool = True,
) -> InboxPage:
    """One page of the Posteingang (and the counts per status)."""
    after = decode_cursor(cursor) if cursor else None
    found = await cases(session, authority_id, wanted, limit=limit + 1, after=after)
    shown = list(found[:limit])
    names = await directory.service_names(session, {case.leika_key for case in shown})
    return InboxPage(
        rows=[InboxRow(case, names.get(case.leika_key)) for case in shown],
        next_cursor=encode_cursor(shown[-1]) if len(found) > limit else None,
        counts=await counts(session, authority_id, wanted) if with_counts else {},
    )


async def service_name(session: AsyncSession, leika_key: str) -> str | None:
    return (await directory.service_names(session, {leika_key})).get(leika_key)


@dataclass(frozen=True)
class ServiceOption:
    leika_key: str
    name: str | None


async def services(session: AsyncSession, authority_id: str) -> list[ServiceOption]:
    """The services the authority has cases of, for the service filter; named ones first, by
    name. (An index-only scan of the authority's entries in the service index.)"""
    keys = set(
        await session.scalars(
            select(Vorgang.leika_key).where(Vorgang.authority_id == authority_id).distinct()
        )
    )
    names = await directory.service_names(session, keys)
    options = [ServiceOption(key, names.get(key)) for key in keys]
    return sorted(options, key=lambda o: (o.name is None, o.name or "", o.leika_key))
