"""Migration 0013 gives the cases filed before it their applicant columns, so that the
Posteingang finds them by name and reports their duplicates."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import orjson
from alembic import command
from sqlalchemy import text

from eantrag import schema
from eantrag.db import create_engine
from tests.casefile.support import DRESDEN_ID

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def _insert_old_case(url: str, record: dict[str, object], number: int) -> uuid.UUID:
    """A case as revision 0005 knew it, written with the columns of that revision."""
    engine = create_engine(url)
    akte_id, case_id = uuid.uuid4(), uuid.uuid4()
    sqlite = url.startswith("sqlite")

    def key(value: uuid.UUID) -> object:
        return value.hex if sqlite else value

    at = NOW.replace(tzinfo=None) if sqlite else NOW
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO casefile_akten (id, authority_id, authority_name, aktenzeichen, "
                "kennzeichen, year, number, title, plan_title, retention_years, disposal, "
                "created_at) VALUES (:id, :a, 'Dresden', :ref, '32.1', 2026, :n, 't', "
                "'p', 10, 'B', :at)"
            ),
            {
                "id": key(akte_id),
                "a": DRESDEN_ID,
                "at": at,
                "ref": f"32.1-2026-{number}",
                "n": number,
            },
        )
        await conn.execute(
            text(
                "INSERT INTO casefile_vorgaenge (id, akte_id, authority_id, application_id, "
                "leika_key, leika_urn, record, routing, source, received_at, filed_at, status, "
                "updated_at, audit_seq, audit_head) VALUES (:id, :akte, :a, :app, "
                "'99102013104000', 'urn:de:fim:leika:leistung:99102013104000', :record, '{}', "
                "'routing', :at, :at, 'filed', :at, 0, :head)"
            ),
            {
                "id": key(case_id),
                "akte": key(akte_id),
                "a": DRESDEN_ID,
                "app": key(uuid.uuid4()),
                "record": orjson.dumps(record).decode(),
                "at": at,
                "head": "0" * 64,
            },
        )
    await engine.dispose()
    return case_id


async def _columns(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT applicant_name, applicant_key, search_key, assignee_id "
                "FROM casefile_vorgaenge"
            )
        )
        found = sorted((tuple(row) for row in rows.all()), key=lambda row: str(row[0]))
    await engine.dispose()
    return found


def test_cases_filed_before_get_their_applicant_columns(database_url: str) -> None:
    command.downgrade(schema.alembic_config(database_url), "0005")
    asyncio.run(
        _insert_old_case(
            database_url,
            {"halter": {"familienname": "Weiß", "vorname": "Jörg", "geburtsdatum": "1970-01-02"}},
            7,
        )
    )
    asyncio.run(_insert_old_case(database_url, {}, 8))
    schema.upgrade(database_url)
    assert asyncio.run(_columns(database_url)) == [
        (None, None, "32.1-2026-8", None),
        ("Weiß, Jörg", "weiss|jörg|1970-01-02", "weiss jörg|jörg weiss|32.1-2026-7", None),
    ]
