"""Routing's queries. Bulk writes go in chunks: SQLite's limit on bound parameters never bites."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.db import utcnow
from routing.directory import AuthorityData, PostcodeData, ResponsibilityData
from routing.models import Authority, PostcodeArea, Responsibility, RoutingDecision, Service

CHUNK = 500
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def upsert_services(
    session: AsyncSession, names: dict[str, str], xzufi_ids: dict[str, str]
) -> None:
    ids_by_key = {key: xzufi_id for xzufi_id, key in xzufi_ids.items()}
    rows = [
        {"leika_key": key, "name": name, "xzufi_id": ids_by_key.get(key), "updated_at": utcnow()}
        for key, name in sorted(names.items())
    ]
    upsert = _insert(session)
    for chunk in _chunks(rows):
        statement = upsert(Service).values(list(chunk))
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["leika_key"],
                set_={
                    "name": statement.excluded.name,
                    "xzufi_id": func.coalesce(statement.excluded.xzufi_id, Service.xzufi_id),
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )


async def services_by_xzufi_id(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    found: dict[str, str] = {}
    for chunk in _chunks(wanted):
        rows = await session.execute(
            select(Service.xzufi_id, Service.leika_key).where(Service.xzufi_id.in_(chunk))
        )
        found.update({xzufi_id: key for xzufi_id, key in rows if xzufi_id})
    return found


async def existing_authorities(session: AsyncSession, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    found: set[str] = set()
    for chunk in _chunks(wanted):
        found.update(await session.scalars(select(Authority.id).where(Authority.id.in_(chunk))))
    return found


async def upsert_authorities(session: AsyncSession, authorities: Iterable[AuthorityData]) -> None:
    now = utcnow()
    rows = [{**vars(a), "updated_at": now} for a in authorities]
    upsert = _insert(session)
    for chunk in _chunks(rows):
        statement = upsert(Authority).values(list(chunk))
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={name: statement.excluded[name] for name in rows[0] if name != "id"},
            )
        )


async def replace_responsibilities(
    session: AsyncSession, authority_ids: Iterable[str], rows: Sequence[ResponsibilityData]
) -> None:
    for chunk in _chunks(sorted(set(authority_ids))):
        await session.execute(delete(Responsibility).where(Responsibility.authority_id.in_(chunk)))
    values = [vars(r) for r in rows]
    for part in _chunks(values):
        await session.execute(insert(Responsibility), list(part))


async def replace_postcodes(session: AsyncSession, rows: Sequence[PostcodeData]) -> None:
    for chunk in _chunks(sorted({r.postcode for r in rows})):
        await session.execute(delete(PostcodeArea).where(PostcodeArea.postcode.in_(chunk)))
    unique = {(r.postcode, r.ars): r for r in rows}
    for part in _chunks([vars(r) for r in unique.values()]):
        await session.execute(insert(PostcodeArea), list(part))


@dataclass(frozen=True)
class Conflict:
    leika_key: str
    area_key: str
    authority_ids: list[str]


async def conflicts(session: AsyncSession) -> list[Conflict]:
    """Service + area pairs that more than one authority claims."""
    doubled = (
        select(Responsibility.leika_key, Responsibility.area_key)
        .group_by(Responsibility.leika_key, Responsibility.area_key)
        .having(func.count(func.distinct(Responsibility.authority_id)) > 1)
        .subquery()
    )
    rows = await session.execute(
        select(Responsibility.leika_key, Responsibility.area_key, Responsibility.authority_id)
        .join(
            doubled,
            (doubled.c.leika_key == Responsibility.leika_key)
            & (doubled.c.area_key == Responsibility.area_key),
        )
        .order_by(Responsibility.leika_key, Responsibility.area_key, Responsibility.authority_id)
    )
    grouped: dict[tuple[str, str], list[str]] = {}
    for leika_key, area_key, authority_id in rows:
        grouped.setdefault((leika_key, area_key), []).append(authority_id)
    return [Conflict(k, a, ids) for (k, a), ids in grouped.items()]


async def candidates(
    session: AsyncSession, leika_keys: Iterable[str], area_keys: Iterable[str]
) -> list[tuple[str, str, Authority]]:
    """(service, area, authority) for the services in any of the areas: one indexed query.

    The product of both lists is a superset of what a caller asked for; it picks its pairs.
    """
    rows = await session.execute(
        select(Responsibility.leika_key, Responsibility.area_key, Authority)
        .join(Authority, Authority.id == Responsibility.authority_id)
        .where(
            Responsibility.leika_key.in_(sorted(set(leika_keys))),
            Responsibility.area_key.in_(sorted(set(area_keys))),
        )
        .order_by(Responsibility.area_key, Authority.id)
    )
    return [(leika_key, area, authority) for leika_key, area, authority in rows]


async def postcode_areas(session: AsyncSession, postcodes: Iterable[str]) -> list[PostcodeArea]:
    return list(
        await session.scalars(
            select(PostcodeArea)
            .where(PostcodeArea.postcode.in_(sorted(set(postcodes))))
            .order_by(PostcodeArea.postcode, PostcodeArea.ars)
        )
    )


async def decision(session: AsyncSession, application_id: uuid.UUID) -> RoutingDecision | None:
    return await session.scalar(
        select(RoutingDecision).where(RoutingDecision.application_id == application_id)
    )


async def decisions(
    session: AsyncSession, application_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, RoutingDecision]:
    rows = await session.scalars(
        select(RoutingDecision).where(RoutingDecision.application_id.in_(set(application_ids)))
    )
    return {row.application_id: row for row in rows}


async def insert_decisions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(RoutingDecision), rows)


async def delete_decision(session: AsyncSession, application_id: uuid.UUID) -> None:
    await session.execute(
        delete(RoutingDecision).where(RoutingDecision.application_id == application_id)
    )


async def authority_ids(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(Authority.id).order_by(Authority.id)))


async def authority_names(session: AsyncSession) -> dict[str, str]:
    """Every authority of the directory: id → name, ordered by id."""
    rows = await session.execute(select(Authority.id, Authority.name).order_by(Authority.id))
    return {row.id: row.name for row in rows}


async def all_responsibilities(session: AsyncSession) -> list[tuple[Responsibility, Authority]]:
    rows = await session.execute(
        select(Responsibility, Authority).join(
            Authority, Authority.id == Responsibility.authority_id
        )
    )
    return [(r, a) for r, a in rows]


async def all_postcodes(session: AsyncSession) -> list[PostcodeArea]:
    return list(await session.scalars(select(PostcodeArea)))


async def counts(session: AsyncSession) -> dict[str, int]:
    result = {}
    for name, model in (
        ("services", Service),
        ("authorities", Authority),
        ("responsibilities", Responsibility),
        ("postcodes", PostcodeArea),
        ("decisions", RoutingDecision),
    ):
        result[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    result["routed"] = int(
        await session.scalar(
            select(func.count())
            .select_from(RoutingDecision)
            .where(RoutingDecision.authority_id.is_not(None))
        )
        or 0
    )
    return result
