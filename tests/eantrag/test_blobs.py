"""The file blob store: content-addressed, durable writes, and no key that leaves its root."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eantrag.blobs import (
    CHUNK,
    BlobNotFound,
    FileBlobStore,
    SpoolTooLarge,
    blob_key,
    hash_blob,
    read_all,
    spool_blob,
    spool_stream,
)


async def test_a_blob_is_stored_at_its_key_once_and_read_back(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    data = b"<antrag/>" * 1000
    sha256 = hashlib.sha256(data).hexdigest()
    key = await store.put(io.BytesIO(data), sha256, len(data), "application/xml")
    assert key == blob_key(sha256)
    assert await store.put(io.BytesIO(data), sha256, len(data), "application/xml") == key
    assert await read_all(store, key) == data
    assert await store.exists(key)
    stored = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert stored == [tmp_path / "blobs" / key], "no temporary file is left behind"
    await store.delete(key)
    assert not await store.exists(key)
    await store.delete(key)  # deleting what is gone is no error


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
async def test_blobs_of_any_size_read_back_whole(tmp_path: Path, size: int) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    sha256 = hashlib.sha256(data).hexdigest()
    key = await store.put(io.BytesIO(data), sha256, size, "application/octet-stream")
    chunks = [chunk async for chunk in store.read(key)]
    assert b"".join(chunks) == data
    assert all(chunks), "no empty chunk is handed out"


async def test_bytes_that_do_not_match_their_hash_are_not_stored(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    sha256 = hashlib.sha256(b"promised").hexdigest()
    with pytest.raises(ValueError, match="do not match"):
        await store.put(io.BytesIO(b"delivered"), sha256, 9, "text/plain")
    assert not await store.exists(blob_key(sha256))
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "key",
    [
        "../outside",
        "/etc/passwd",
        "sha256/../../outside",
        "sha256/ab/cd/" + "0" * 64,  # the directories do not match the hash
        "sha256/ab/cd/abcd" + "0" * 60 + "/../x",
        "sha256/AB/CD/ABCD" + "0" * 60,
    ],
)
async def test_keys_outside_the_stores_shape_are_refused(tmp_path: Path, key: str) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    with pytest.raises(ValueError, match="not a blob key"):
        await store.exists(key)
    with pytest.raises(ValueError, match="not a blob key"):
        await read_all(store, key)
    with pytest.raises(ValueError, match="not a blob key"):
        await store.delete(key)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_stream_is_spooled_while_hashed_spilling_to_a_file(tmp_path: Path) -> None:
    parts = [b"a" * 700, b"b" * 700, b"c"]
    data = b"".join(parts)
    spool = await spool_stream(_chunks(*parts), memory_limit=1024, sha512=True)
    try:
        assert spool.size == len(data)
        assert spool.sha256 == hashlib.sha256(data).hexdigest()
        assert spool.sha512 == hashlib.sha512(data).hexdigest()
        assert spool.read_all() == data
        assert spool.rewind().read() == data
        store = FileBlobStore(tmp_path / "blobs")
        key = await store.put(spool.rewind(), spool.sha256, spool.size, "text/plain")
    finally:
        spool.close()
    assert await read_all(store, key) == data
    assert await hash_blob(store, key) == (hashlib.sha256(data).hexdigest(), len(data))
    again = await spool_blob(store, key, memory_limit=16)
    try:
        assert (again.sha256, again.size, again.read_all()) == (spool.sha256, len(data), data)
        with pytest.raises(AttributeError):
            _ = again.sha512  # made without: nobody pays for a hash nobody reads
    finally:
        again.close()


async def test_a_stream_over_its_limit_is_refused_at_the_chunk_that_passes_it() -> None:
    taken: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for part in (b"x" * 10, b"y" * 10, b"z" * 10):
            taken.append(part)
            yield part

    assert (await spool_stream(_chunks(b"x" * 20), 64, max_size=20)).size == 20
    with pytest.raises(SpoolTooLarge):
        await spool_stream(body(), 64, max_size=15)
    assert len(taken) == 2, "reading stops at the chunk that passes the limit"


async def test_a_missing_blob_is_the_stores_own_not_found(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    missing = blob_key(hashlib.sha256(b"never stored").hexdigest())
    with pytest.raises(BlobNotFound):
        await hash_blob(store, missing)
    with pytest.raises(BlobNotFound):
        await spool_blob(store, missing, 64)
