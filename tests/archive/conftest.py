"""Fixtures for the archive: the official XSDs from ../shared, a database migrated by alembic,
a blob directory, and a service bound to an in-memory case source."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from archive.codelists import FormatCodes
from archive.memory import InMemoryCaseSource
from archive.schema import SchemaCheck
from archive.service import ArchiveService
from eantrag.blobs import FileBlobStore
from eantrag.db import Database
from tests.conftest import shared_dir

T = TypeVar("T")


@pytest.fixture(scope="session")
def xdomea_dir() -> Path:
    return shared_dir("xdomea")


@pytest.fixture
def schema(xdomea_dir: Path) -> SchemaCheck:
    return SchemaCheck(xdomea_dir)


@dataclass
class ArchiveEnv:
    db: Database
    blobs: FileBlobStore
    source: InMemoryCaseSource
    schema: SchemaCheck
    out: Path

    @asynccontextmanager
    async def service(self) -> AsyncIterator[ArchiveService]:
        async with self.db.transaction() as session:
            yield ArchiveService(
                session,
                self.source,
                self.blobs,
                self.schema,
                FormatCodes(),
                "Sächsisches Staatsarchiv",
            )

    async def run(self, work: Callable[[ArchiveService], Awaitable[T]]) -> T:
        """One transaction, committed when `work` returns; then the blob clean-up."""
        async with self.service() as service:
            result = await work(service)
        blobs: Any = getattr(result, "unreferenced_blobs", None)
        if blobs:
            await service.delete_blobs(list(blobs))
        return result


@pytest.fixture
async def env(database_url: str, tmp_path: Path, schema: SchemaCheck) -> AsyncIterator[ArchiveEnv]:
    db = Database(database_url)
    try:
        yield ArchiveEnv(
            db=db,
            blobs=FileBlobStore(tmp_path / "blobs"),
            source=InMemoryCaseSource(),
            schema=schema,
            out=tmp_path / "out",
        )
    finally:
        await db.dispose()
