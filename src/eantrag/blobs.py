"""Content-addressed blob store: a directory by default, S3/MinIO in production.

Keys are derived from the SHA-256 of the bytes, so storing the same document twice is a no-op
and a key proves what it holds. Writes are durable before they return (fsync, then rename),
because the database row that points at a blob is committed only afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, BinaryIO, Protocol, cast
from urllib.parse import urlparse

CHUNK = 256 * 1024


def blob_key(sha256_hex: str) -> str:
    return f"sha256/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


class BlobStore(Protocol):
    async def put(self, source: IO[bytes], sha256_hex: str, size: int, media_type: str) -> str:
        """Store the bytes of a seekable file whose hash the caller computed; return the key."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    async def put(self, source: IO[bytes], sha256_hex: str, size: int, media_type: str) -> str:
        key = blob_key(sha256_hex)
        await asyncio.to_thread(self._put_sync, source, key, sha256_hex)
        return key

    def _put_sync(self, source: IO[bytes], key: str, sha256_hex: str) -> None:
        target = self._path(key)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            if digest.hexdigest() != sha256_hex:
                raise ValueError("blob bytes do not match the announced SHA-256")
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        with path.open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk

    async def exists(self, key: str) -> bool:
        return self._path(key).exists()

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def ping(self) -> None:
        """Prove the directory takes a file (permissions alone say little when run as root)."""

        def _probe() -> None:
            with tempfile.TemporaryFile(dir=self.root):
                pass

        await asyncio.to_thread(_probe)

    async def close(self) -> None:
        return None


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
            if exc.code in {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}:
                return False
            raise
        return True

    async def read(self, key: str) -> AsyncIterator[bytes]:
        response = await asyncio.to_thread(self.client.get_object, self.bucket, key)
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
