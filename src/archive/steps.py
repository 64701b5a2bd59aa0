"""One step of the Aussonderung in one transaction: the runner the CLI and the archivist's page
share, so both do exactly the same.

The archive's record and the case file's deletions commit together; blob files nobody
references any more are removed after the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from archive.casefile_source import CasefileSource
from archive.codelists import FormatCodes
from archive.schema import SchemaCheck
from archive.service import ArchiveService
from eantrag.blobs import BlobStore
from eantrag.db import Database
from eantrag.settings import Settings

T = TypeVar("T")


async def run(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    schema: SchemaCheck,
    work: Callable[[ArchiveService], Awaitable[T]],
    *,
    only_authority: str | None = None,
) -> T:
    async with db.transaction() as session:
        service = ArchiveService(
            session,
            CasefileSource(session),
            blobs,
            schema,
            FormatCodes(settings.xdomea_format_codes),
            settings.archive_name,
            only_authority=only_authority,
        )
        result = await work(service)
    keys = getattr(result, "unreferenced_blobs", None)
    if keys:
        await service.delete_blobs(list(keys))
    return result
