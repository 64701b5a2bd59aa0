"""Aktenzeichen: `<Kennzeichen>-<year>-<number>`, unique per authority and gap-free per year,
also with several consumers filing at once — the number comes from a counter row, not memory."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casefile import filing, repository
from casefile.models import Akte, PlanUnit
from contracts.application import AuthorityMessage
from eantrag.runtime import Runtime
from tests.casefile.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    authority_message,
    case_count,
    file_directly,
    outgoing,
)
from tests.routing.support import DOG, WOHNGELD, wait_for, workers


async def test_two_hundred_concurrent_filings_get_unique_gap_free_references(
    runtime: Runtime,
) -> None:
    total = 200
    bodies = []
    for n in range(total):
        authority = DRESDEN_ID if n % 2 else LEIPZIG_ID
        leika = WOHNGELD if n % 3 == 0 else "99102013104000"
        bodies.append(await authority_message(runtime.blobs, authority, leika=leika))
    for authority in (DRESDEN_ID, LEIPZIG_ID):
        await runtime.broker.declare_authority(authority)
    await runtime.broker.publish([outgoing(b) for b in bodies])

    # Four competing workers, each with a consumer per inbox.
    async with workers(runtime, "casefile", "casefile", "casefile", "casefile"):
        await wait_for(lambda: _count_is(runtime, total), within=90, interval=0.25)

    async with runtime.db.sessionmaker() as session:
        akten = (await session.scalars(select(Akte))).all()
    assert len(akten) == total
    series: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for akte in akten:
        assert akte.aktenzeichen == f"{akte.kennzeichen}-{akte.year}-{akte.number}"
        series[(akte.authority_id, akte.kennzeichen, akte.year)].append(akte.number)
    assert len(series) == 4  # two authorities × (Hundesteuer, Wohngeld)
    for key, numbers in series.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gaps or doubles in {key}"
    per_authority = defaultdict(set)
    for akte in akten:
        per_authority[akte.authority_id].add(akte.aktenzeichen)
    assert sum(len(v) for v in per_authority.values()) == total


async def _count_is(runtime: Runtime, total: int) -> bool:
    return await case_count(runtime.db) >= total


# SQLite has one writer at a time, so this race exists on PostgreSQL only.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_filer_looking_while_another_adds_the_default_plan_finds_its_unit(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first filings of a new authority: one finds no unit, the other adds the default plan
    and commits, then the first looks again."""
    looked, committed = asyncio.Event(), asyncio.Event()
    has_plan = repository.has_plan

    async def has_plan_after_the_other_commit(session: AsyncSession, authority_id: str) -> bool:
        looked.set()
        await committed.wait()
        return await has_plan(session, authority_id)

    async def first_filer() -> PlanUnit:
        async with runtime.db.transaction() as session:
            return await filing.plan_unit(session, "neue-behoerde", DOG)

    monkeypatch.setattr(repository, "has_plan", has_plan_after_the_other_commit)
    waiting = asyncio.create_task(first_filer())
    await looked.wait()
    monkeypatch.setattr(repository, "has_plan", has_plan)
    other = await first_filer()
    committed.set()
    assert (await waiting).kennzeichen == other.kennzeichen == "022.31"


async def test_a_rolled_back_filing_gives_its_number_back(runtime: Runtime) -> None:
    first = await file_directly(runtime, await authority_message(runtime.blobs))
    body = await authority_message(runtime.blobs)
    prepared = await filing.prepare_filing(
        runtime.blobs, filing.from_message(AuthorityMessage.model_validate(body))
    )
    with pytest.raises(RuntimeError):
        async with runtime.db.transaction() as session:
            filed = await filing.file_application(session, prepared, actor="test", source="routing")
            assert filed is not None and filed.akte.number == 2
            raise RuntimeError("crash before the commit")
    again = await file_directly(runtime, body)
    async with runtime.db.sessionmaker() as session:
        numbers = sorted(
            await session.scalars(select(Akte.number).where(Akte.authority_id == DRESDEN_ID))
        )
    assert numbers == [1, 2]
    assert first.id != again.id


async def test_the_same_application_is_filed_once(runtime: Runtime) -> None:
    body = await authority_message(runtime.blobs)
    await file_directly(runtime, body)
    prepared = await filing.prepare_filing(
        runtime.blobs, filing.from_message(AuthorityMessage.model_validate(body))
    )
    async with runtime.db.transaction() as session:
        assert await filing.file_application(session, prepared, actor="t", source="r") is None
    assert await case_count(runtime.db) == 1


async def test_numbers_are_per_kennzeichen_and_year(runtime: Runtime) -> None:
    async with runtime.db.transaction() as session:
        got = [
            await repository.next_number(session, "a", "022.31", 2026),
            await repository.next_number(session, "a", "022.31", 2026),
            await repository.next_number(session, "a", "022.31", 2027),
            await repository.next_number(session, "a", "500.21", 2026),
            await repository.next_number(session, "b", "022.31", 2026),
        ]
    assert got == [1, 2, 1, 1, 1]


async def test_concurrent_counters_on_one_row_never_repeat(runtime: Runtime) -> None:
    """Many transactions racing for the same counter row each get their own number."""

    async def one() -> int:
        async with runtime.db.transaction() as session:
            number = await repository.next_number(session, "race", "022.31", 2026)
            await asyncio.sleep(0)
            return number

    numbers = await asyncio.gather(*(one() for _ in range(40)))
    assert sorted(numbers) == list(range(1, 41))


def test_the_year_is_the_authority_s_calendar_year() -> None:
    assert filing.local_year(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == 2027
    assert filing.local_year(datetime(2026, 12, 31, 22, 30, tzinfo=UTC)) == 2026


async def test_a_group_is_numbered_as_if_filed_one_by_one(runtime: Runtime) -> None:
    """`file_applications`: per counter one reservation, references in the group's order; an
    application filed before, or twice in the group, gets None and no number."""
    first = await authority_message(runtime.blobs)
    await file_directly(runtime, first)  # Dresden's dog tax no. 1
    bodies = [
        first,
        *[
            await authority_message(runtime.blobs, authority, leika=leika)
            for authority, leika in [
                (DRESDEN_ID, DOG),
                (LEIPZIG_ID, DOG),
                (DRESDEN_ID, WOHNGELD),
                (DRESDEN_ID, DOG),
            ]
        ],
    ]
    already, dog, leipzig, wohngeld, dog_again = [
        await filing.prepare_filing(
            runtime.blobs, filing.from_message(AuthorityMessage.model_validate(body))
        )
        for body in bodies
    ]
    group = [dog, already, leipzig, dog, wohngeld, dog_again]
    async with runtime.db.transaction() as session:
        filed = await filing.file_applications(session, group, actor="t", source="routing")
    numbered = [(f.akte.kennzeichen, f.akte.number) if f else None for f in filed]
    wohngeld_unit = numbered[4][0] if numbered[4] else None
    assert wohngeld_unit is not None and wohngeld_unit != "022.31"
    assert numbered == [
        ("022.31", 2),
        None,  # filed before
        ("022.31", 1),  # Leipzig counts on its own
        None,  # twice in the group
        (wohngeld_unit, 1),
        ("022.31", 3),
    ]
    assert await case_count(runtime.db) == 5
    async with runtime.db.sessionmaker() as session:
        stored = set(await session.scalars(select(Akte.aktenzeichen)))
    assert {f.akte.aktenzeichen for f in filed if f} <= stored
