"""Small blobs as rows of the database, large ones in the blob store, one key space for both."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from eantrag.blobs import BlobNotFound, FileBlobStore, TieredBlobStore, blob_key, read_all
from eantrag.db import Database, insert_rows
from eantrag.models import InlineBlob

LIMIT = 1024


@pytest.fixture
async def store(database_url: str, tmp_path: Path) -> AsyncIterator[TieredBlobStore]:
    db = Database(database_url)
    tiered = TieredBlobStore(FileBlobStore(tmp_path / "blobs"), db, inline_max=LIMIT)
    try:
        yield tiered
    finally:
        await tiered.close()
        await db.dispose()


def files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


async def rows(store: TieredBlobStore) -> int:
    async with store.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(InlineBlob)) or 0)


async def put(store: TieredBlobStore, data: bytes) -> str:
    return await store.put(io.BytesIO(data), hashlib.sha256(data).hexdigest(), len(data), "x/y")


async def test_small_blobs_are_rows_and_large_ones_files(
    store: TieredBlobStore, tmp_path: Path
) -> None:
    small, large = b"s" * LIMIT, b"L" * (LIMIT + 1)
    small_key, large_key = await put(store, small), await put(store, large)
    assert (small_key, large_key) == (
        blob_key(hashlib.sha256(small).hexdigest()),
        blob_key(hashlib.sha256(large).hexdigest()),
    )
    assert await rows(store) == 1
    assert files(tmp_path) == [tmp_path / "blobs" / large_key]
    assert await read_all(store, small_key) == small
    assert await read_all(store, large_key) == large
    assert await store.exists(small_key) and await store.exists(large_key)

    assert await put(store, small) == small_key, "the same content again is no error"
    assert await rows(store) == 1

    await store.delete(small_key)
    await store.delete(large_key)
    assert await rows(store) == 0 and files(tmp_path) == []
    assert not await store.exists(small_key)
    with pytest.raises(BlobNotFound):
        await read_all(store, small_key)
    with pytest.raises(BlobNotFound):
        await read_all(store, large_key)


async def test_a_row_is_part_of_the_callers_transaction(store: TieredBlobStore) -> None:
    data = b"<antrag/>"
    inline = store.inline_row(data, hashlib.sha256(data).hexdigest())
    assert inline is not None
    key, row = inline

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with store.db.transaction() as session:
            await insert_rows(session, [row])
            raise Abort
    assert not await store.exists(key), "rolled back with the transaction that referred to it"

    async with store.db.transaction() as session:
        await insert_rows(session, [row, row])  # one content twice in one statement
    async with store.db.transaction() as session:
        await insert_rows(session, [row])  # and again later
    assert await rows(store) == 1
    assert await read_all(store, key) == data


async def test_too_large_or_wrong_bytes_make_no_row(store: TieredBlobStore) -> None:
    large = b"x" * (LIMIT + 1)
    assert store.inline_row(large, hashlib.sha256(large).hexdigest()) is None
    with pytest.raises(ValueError, match="SHA-256"):
        store.inline_row(b"one", hashlib.sha256(b"other").hexdigest())


async def test_reads_in_one_turn_of_the_event_loop_share_one_query(
    store: TieredBlobStore,
) -> None:
    contents = [f"<antrag n='{n}'/>".encode() for n in range(20)]
    keys = [await put(store, data) for data in contents]
    large = b"L" * (LIMIT + 1)
    large_key = await put(store, large)

    queries: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "inline_blobs" in statement:
            queries.append(statement)

    engine = store.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        read = await asyncio.gather(*(read_all(store, key) for key in [*keys, large_key]))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert read == [*contents, large]
    assert len(queries) == 1, queries
