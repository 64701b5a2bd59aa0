"""Content-addressed blob store: a directory by default, S3/MinIO in production, with small
blobs kept in the database (`TieredBlobStore`).

Keys are derived from the SHA-256 of the bytes, so storing the same document twice is a no-op
and a key proves what it holds. Writes are durable before they return (fsync, then rename),
because the database row that points at a blob is committed only afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, BinaryIO, Protocol, cast
from urllib.parse import urlparse

from sqlalchemy import delete, select

from eantrag.db import Database, Insert, insert_rows, table_of
from eantrag.models import InlineBlob

CHUNK = 256 * 1024


_KEY = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{2})/\1\2[0-9a-f]{60}")


class BlobNotFound(FileNotFoundError):
    """No blob under this key, in whichever store was asked."""


# What S3 (and MinIO) answer for an object that is not there.
_S3_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}


def blob_key(sha256_hex: str) -> str:
    return f"sha256/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


class BlobStore(Protocol):
    async def put(self, source: IO[bytes], sha256_hex: str, size: int, media_type: str) -> str:
        """Store the bytes of a seekable file whose hash the caller computed; return the key."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; `BlobNotFound` if there is none under `key`."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


class SpoolTooLarge(ValueError):
    """More bytes arrived than the spool was allowed to take."""


class HashingSpool:
    """Bytes hashed as they are written (SHA-256, and SHA-512 unless told otherwise), kept in
    memory up to `memory_limit`, then in a temporary file, until their owner closes them.

    The one place that reads a stream while hashing it: the intake's bodies and parts (SHA-512
    for FIT-Connect's metadata), the e-Akte's uploads and its downloads checked against the
    filed hash.
    """

    def __init__(
        self,
        memory_limit: int,
        media_type: str = "application/octet-stream",
        *,
        sha512: bool = True,
    ) -> None:
        # Outlives this call: closed by its owner once the bytes are stored or sent.
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=memory_limit)  # noqa: SIM115
        self.media_type = media_type  # what `BlobStore.put` is told
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512() if sha512 else None

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self._sha256.update(chunk)
        if self._sha512 is not None:
            self._sha512.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def sha512(self) -> str:
        if self._sha512 is None:
            raise AttributeError("this spool was made without SHA-512")
        return self._sha512.hexdigest()

    def read_all(self) -> bytes:
        self.file.seek(0)
        return self.file.read()

    def rewind(self) -> IO[bytes]:
        """The file, at its start: for a blob store's `put` or a response's stream."""
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()


async def spool_stream(
    chunks: AsyncIterable[bytes],
    memory_limit: int,
    *,
    max_size: int | None = None,
    sha512: bool = False,
) -> HashingSpool:
    """Read a stream (a request body) into a hashing spool; `SpoolTooLarge` as soon as it
    passes `max_size`, with nothing kept."""
    spool = HashingSpool(memory_limit, sha512=sha512)
    try:
        async for chunk in chunks:
            if max_size is not None and spool.size + len(chunk) > max_size:
                raise SpoolTooLarge(f"more than {max_size} bytes")
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    return spool


async def spool_blob(store: BlobStore, key: str, memory_limit: int) -> HashingSpool:
    """A stored blob's bytes, spooled while hashing, so the caller can prove they are the ones
    it filed before handing them out; `BlobNotFound` if there is none."""
    return await spool_stream(store.read(key), memory_limit)


async def hash_blob(store: BlobStore, key: str) -> tuple[str, int]:
    """SHA-256 and size of a stored blob, read without keeping it; `BlobNotFound` if absent."""
    digest = hashlib.sha256()
    size = 0
    async for chunk in store.read(key):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class FileBlobStore:
    """Blobs as files under `root`, at their key's path (`sha256/ab/cd/abcd…`).

    A write goes to a temporary file beside the target, is fsynced, renamed into place, and the
    directory is fsynced, so that a crash leaves either nothing or the whole blob. The per-blob
    path work is kept small (no path resolution, directories created once per process): it runs
    for every application, and it holds the GIL that the event loop needs.
    """

    def __init__(self, root: Path, *, io_threads: int = 32) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._directories: set[str] = set()
        # fsync waits on the disk, not the CPU: enough threads that one slow flush does not
        # queue every other request behind it (and concurrent flushes share journal commits).
        self._io = ThreadPoolExecutor(max_workers=io_threads, thread_name_prefix="blob-io")

    def _path(self, key: str) -> str:
        # Only keys of the store's own shape name a file in it: no "..", no absolute path.
        if _KEY.fullmatch(key) is None:
            raise ValueError(f"not a blob key of this store: {key!r}")
        return os.path.join(self.root, key)

    async def put(self, source: IO[bytes], sha256_hex: str, size: int, media_type: str) -> str:
        key = blob_key(sha256_hex)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._io, self._put_sync, source, key, sha256_hex)
        return key

    def _put_sync(self, source: IO[bytes], key: str, sha256_hex: str) -> None:
        target = self._path(key)
        if os.path.exists(target):
            return
        directory = os.path.dirname(target)
        if directory not in self._directories:
            os.makedirs(directory, exist_ok=True)
            self._directories.add(directory)
        source.seek(0)
        digest = hashlib.sha256()
        temporary = f"{directory}/.tmp-{uuid.uuid4().hex}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            try:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            if digest.hexdigest() != sha256_hex:
                raise ValueError("blob bytes do not match the announced SHA-256")
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        # Most blobs are a few KiB: one trip to a thread opens, reads and, at the end, closes.
        try:
            handle, chunk = await asyncio.to_thread(self._open_and_read, self._path(key))
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        try:
            while chunk:
                yield chunk
                if handle.closed:
                    return
                chunk = await asyncio.to_thread(handle.read, CHUNK)
        finally:
            handle.close()

    @staticmethod
    def _open_and_read(path: str) -> tuple[BinaryIO, bytes]:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the caller, or here at the end)
        try:
            chunk = handle.read(CHUNK)
            if len(chunk) < CHUNK:
                handle.close()
        except BaseException:
            handle.close()
            raise
        return handle, chunk

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(os.path.exists, self._path(key))

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, self._path(key))

    async def ping(self) -> None:
        """Prove the directory takes a file (permissions alone say little when run as root)."""

        def _probe() -> None:
            with tempfile.TemporaryFile(dir=self.root):
                pass

        await asyncio.to_thread(_probe)

    async def close(self) -> None:
        self._io.shutdown(wait=True)


class S3BlobStore:
    """S3/MinIO through the minio client; its blocking calls run in worker threads."""

    def __init__(
        self,
        bucket: str,
        endpoint: str,
        access_key: str | None,
        secret_key: str | None,
        region: str | None = None,
    ) -> None:
        from minio import Minio

        parsed = urlparse(endpoint)
        self.bucket = bucket
        self.client = Minio(
            parsed.netloc or parsed.path,
            access_key=access_key,
            secret_key=secret_key,
            secure=parsed.scheme == "https",
            region=region,
        )

    async def ensure_bucket(self) -> None:
        def _ensure() -> None:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)

        await asyncio.to_thread(_ensure)

    async def put(self, source: IO[bytes], sha256_hex: str, size: int, media_type: str) -> str:
        key = blob_key(sha256_hex)

        def _put() -> None:
            if self._exists_sync(key):
                return
            source.seek(0)
            self.client.put_object(
                self.bucket,
                key,
                cast(BinaryIO, source),
                length=size,
                content_type=media_type,
                metadata={"sha256": sha256_hex},
            )

        await asyncio.to_thread(_put)
        return key

    def _exists_sync(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _S3_NOT_FOUND:
                return False
            raise
        return True

    async def read(self, key: str) -> AsyncIterator[bytes]:
        from minio.error import S3Error

        try:
            response = await asyncio.to_thread(self.client.get_object, self.bucket, key)
        except S3Error as exc:
            if exc.code in _S3_NOT_FOUND:
                raise BlobNotFound(key) from exc
            raise
        try:
            while chunk := await asyncio.to_thread(response.read, CHUNK):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._exists_sync, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.remove_object, self.bucket, key)

    async def ping(self) -> None:
        exists = await asyncio.to_thread(self.client.bucket_exists, self.bucket)
        if not exists:
            raise OSError(f"bucket {self.bucket} does not exist")

    async def close(self) -> None:
        return None


class TieredBlobStore:
    """Small blobs as rows of the database, larger ones in `inner` (a directory or S3/MinIO).

    A document of a few kilobytes in its own file costs a write, two fsyncs and a rename before
    the database may refer to it, and those flushes queue at the same disk as the database's
    own. Kept as a row (`inline_blobs`) and inserted in the transaction that refers to it, it
    costs nothing but its bytes in that transaction's commit, and a crash cannot leave it
    without its row or its row without it. Documents over `inline_max` bytes, which the
    database should not carry, go to `inner` as before; `inline_max=0` sends every one there.

    Keys are the same in both tiers, so a reader does not need to know where a blob is: the
    table is asked first, then `inner`. Look-ups that arrive in the same turn of the event loop
    (a batch of deliveries verifying their originals) share one query.
    """

    def __init__(self, inner: BlobStore, db: Database, inline_max: int) -> None:
        self.inner = inner
        self.db = db
        self.inline_max = inline_max
        self._wanted: dict[str, list[asyncio.Future[bytes | None]]] = {}
        self._lookups: set[asyncio.Task[None]] = set()

    def inline_row(self, data: bytes, sha256_hex: str) -> tuple[str, Insert] | None:
        """The key and row that keep `data` in the database, or None if it is too large.

        The caller inserts the row (`eantrag.db.insert_rows`) in the transaction that refers to
        the key; an existing row of the same content is skipped.
        """
        if len(data) > self.inline_max:
            return None
        if hashlib.sha256(data).hexdigest() != sha256_hex:
            raise ValueError("blob bytes do not match the announced SHA-256")
        key = blob_key(sha256_hex)
        return key, (table_of(InlineBlob), {"key": key, "data": data})

    async def put(self, source: IO[bytes], sha256_hex: str, size: int, media_type: str) -> str:
        if size > self.inline_max:
            return await self.inner.put(source, sha256_hex, size, media_type)
        source.seek(0)
        inline = self.inline_row(source.read(), sha256_hex)
        assert inline is not None
        async with self.db.engine.begin() as connection:
            await insert_rows(connection, [inline[1]])
        return inline[0]

    async def read(self, key: str) -> AsyncIterator[bytes]:
        data = await self._inline(key)
        if data is not None:
            yield data
            return
        async for chunk in self.inner.read(key):
            yield chunk

    async def _inline(self, key: str) -> bytes | None:
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._wanted.setdefault(key, []).append(future)
        if len(self._wanted) == 1 and len(self._wanted[key]) == 1:
            task = asyncio.create_task(self._look_up())
            self._lookups.add(task)
            task.add_done_callback(self._lookups.discard)
        return await future

    async def _look_up(self) -> None:
        await asyncio.sleep(0)  # let the look-ups of this turn of the event loop join
        wanted, self._wanted = self._wanted, {}
        try:
            table = table_of(InlineBlob)
            async with self.db.reader.connect() as connection:
                rows = await connection.execute(
                    select(table.c.key, table.c.data).where(table.c.key.in_(wanted))
                )
                found: dict[str, bytes] = {key: data for key, data in rows}
        except Exception as exc:
            for futures in wanted.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        except BaseException:
            for futures in wanted.values():
                for future in futures:
                    future.cancel()
            raise
        for key, futures in wanted.items():
            for future in futures:
                if not future.done():
                    future.set_result(found.get(key))

    async def exists(self, key: str) -> bool:
        table = table_of(InlineBlob)
        async with self.db.reader.connect() as connection:
            found = await connection.scalar(select(table.c.key).where(table.c.key == key))
        return found is not None or await self.inner.exists(key)

    async def delete(self, key: str) -> None:
        table = table_of(InlineBlob)
        async with self.db.engine.begin() as connection:
            await connection.execute(delete(table).where(table.c.key == key))
        await self.inner.delete(key)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


def create_blob_store(
    url: str,
    *,
    s3_endpoint: str | None = None,
    s3_access_key: str | None = None,
    s3_secret_key: str | None = None,
    s3_region: str | None = None,
) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FileBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        if not s3_endpoint:
            raise ValueError("s3:// blob URL needs EANTRAG_S3_ENDPOINT")
        return S3BlobStore(parsed.netloc, s3_endpoint, s3_access_key, s3_secret_key, s3_region)
    raise ValueError(f"unsupported blob URL {url!r}: use file:///path or s3://bucket")
