"""The pool pings a connection only after it sat idle: one whose server process went away in
the meantime (a database restart, an idle timeout) is replaced before anyone uses it, and a
connection in use a moment ago is handed out without a round trip."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from eantrag import db as eantrag_db
from eantrag.db import Database


async def _backend(database: Database) -> int:
    async with database.engine.connect() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def test_an_idle_connection_whose_server_went_away_is_replaced(
    pg_database_url: str,
) -> None:
    database = Database(pg_database_url, pool_size=1)
    killer = Database(pg_database_url, pool_size=1)
    try:
        first = await _backend(database)
        async with killer.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(eantrag_db.PING_AFTER_IDLE_SECONDS + 0.2)
        second = await _backend(database)  # no error: the ping found it dead
        assert second != first
    finally:
        await database.dispose()
        await killer.dispose()


async def test_a_busy_connection_is_not_pinged(
    pg_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(pg_database_url, pool_size=1)
    pings: list[object] = []
    ping = eantrag_db._ping

    def counted(connection: object) -> None:
        pings.append(connection)
        ping(connection)

    monkeypatch.setattr(eantrag_db, "_ping", counted)
    try:
        for _ in range(5):
            await _backend(database)
        assert pings == []
        await asyncio.sleep(eantrag_db.PING_AFTER_IDLE_SECONDS + 0.2)
        await _backend(database)
        assert len(pings) == 1
    finally:
        await database.dispose()
