"""What the Aussonderung page does, over the same steps as `eantrag archive` (archive.steps).

An archivist acts for their own authority only: its due cases, its processes, its messages.
The messages the steps write (0501, 0503, 0505) lie in the data directory under
`aussonderung/<authority>/` and are offered for download from there; the archive's answers
(0502, 0506) arrive as uploads and are read from a temporary file.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

from archive import repository, steps
from archive.schema import SchemaCheck
from archive.service import (
    AppraisalResult,
    ArchiveService,
    ConfirmResult,
    ExportResult,
    OfferResult,
    Plan,
)
from archive.sources import ClosedCase
from eantrag.runtime import Runtime

T = TypeVar("T")
# `{ProzessID}_Aussonderung.{Nachricht}.{05xx}.zip`, as archive.xdomea names what it writes.
MESSAGE_NAME = re.compile(
    r"(?P<process>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"_Aussonderung\.[A-Za-z]+\.(?P<code>05\d\d)\.zip"
)
MESSAGE_TITLES = {
    "0501": "Anbietungsliste (0501)",
    "0503": "Abgabepaket (0503)",
    "0505": "Empfangsbestätigung der Bewertung (0505)",
}
# The archive's answers are small XML messages or ZIPs holding one; 20 MB is far above either.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class UploadTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Message:
    name: str
    title: str
    process_id: str
    size: int
    written_at: datetime


@dataclass(frozen=True)
class ProcessRow:
    id: uuid.UUID
    variant: str
    status: str
    as_of: date
    created_at: datetime
    objects: dict[str, int]
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Overview:
    as_of: date
    due: list[ClosedCase]
    plan: Plan
    processes: list[ProcessRow]
    schema_checked: bool


def schema_check(runtime: Runtime) -> SchemaCheck:
    """The official XSDs when the installation has them; else unchecked (the page says so)."""
    directory = runtime.settings.xdomea_schema_dir
    return SchemaCheck(directory, skip=directory is None)


def outbox(runtime: Runtime, authority_id: str) -> Path:
    path = runtime.settings.data_dir / "aussonderung" / authority_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def messages(runtime: Runtime, authority_id: str) -> list[Message]:
    found = []
    for path in outbox(runtime, authority_id).iterdir():
        matched = MESSAGE_NAME.fullmatch(path.name)
        if matched and path.is_file():
            stat = path.stat()
            found.append(
                Message(
                    name=path.name,
                    title=MESSAGE_TITLES.get(matched["code"], matched["code"]),
                    process_id=matched["process"],
                    size=stat.st_size,
                    written_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                )
            )
    return sorted(found, key=lambda m: m.written_at, reverse=True)


def message_path(runtime: Runtime, authority_id: str, name: str) -> Path | None:
    """A message of this authority by its file name; None for any other name."""
    if not MESSAGE_NAME.fullmatch(name):
        return None
    path = outbox(runtime, authority_id) / name
    return path if path.is_file() else None


async def _run(
    runtime: Runtime, authority_id: str, work: Callable[[ArchiveService], Awaitable[T]]
) -> T:
    return await steps.run(
        runtime.db,
        runtime.blobs,
        runtime.settings,
        schema_check(runtime),
        work,
        only_authority=authority_id,
    )


async def overview(runtime: Runtime, authority_id: str, as_of: date) -> Overview:
    """The due cases, what an export would do, and the authority's processes with their
    messages; changes nothing."""

    async def look(service: ArchiveService) -> tuple[list[ClosedCase], Plan]:
        return await service.due(authority_id, as_of), await service.export_plan(
            authority_id, as_of
        )

    due, plan = await _run(runtime, authority_id, look)
    written = messages(runtime, authority_id)
    rows = []
    async with runtime.db.sessionmaker() as session:
        for process in await repository.processes(session, authority_id):
            objects = await repository.process_objects(session, process.id)
            rows.append(
                ProcessRow(
                    id=process.id,
                    variant=process.variant,
                    status=process.status,
                    as_of=process.as_of,
                    created_at=process.created_at,
                    objects=dict(Counter(o.status for o in objects)),
                    messages=[m for m in written if m.process_id == str(process.id)],
                )
            )
    return Overview(
        as_of=as_of,
        due=due,
        plan=plan,
        processes=rows,
        schema_checked=schema_check(runtime).enabled,
    )


async def offer(runtime: Runtime, authority_id: str, as_of: date) -> OfferResult | None:
    out = outbox(runtime, authority_id)
    return await _run(runtime, authority_id, lambda s: s.offer(authority_id, as_of, out))


async def export(runtime: Runtime, authority_id: str, as_of: date) -> ExportResult:
    out = outbox(runtime, authority_id)
    return await _run(runtime, authority_id, lambda s: s.export(authority_id, as_of, out))


@asynccontextmanager
async def _uploaded(chunks: AsyncIterator[bytes]) -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory(prefix="eantrag-upload-") as directory:
        path = Path(directory) / "message"
        size = 0
        with path.open("wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise UploadTooLarge()
                handle.write(chunk)
        yield path


async def appraise(
    runtime: Runtime, authority_id: str, chunks: AsyncIterator[bytes]
) -> AppraisalResult:
    out = outbox(runtime, authority_id)
    async with _uploaded(chunks) as path:
        return await _run(runtime, authority_id, lambda s: s.appraise(path, out))


async def confirm(
    runtime: Runtime, authority_id: str, chunks: AsyncIterator[bytes]
) -> ConfirmResult:
    async with _uploaded(chunks) as path:
        return await _run(runtime, authority_id, lambda s: s.confirm(path))
