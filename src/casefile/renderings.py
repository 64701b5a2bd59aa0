"""The PDF/A rendering of every filed application, made by a worker of its own after filing.

Why after filing and not in it: the rendering prints the Aktenzeichen, which exists only inside
the filing transaction (a counter row locked until the commit), and a PDF/A page costs tens of
milliseconds of CPU — far more than filing a whole group. Rendering inside would hold the
counter lock that long and cut filing throughput several times over. So the `renderer` worker
consumes the `filed` status event (queue `eantrag.renderings`), renders outside any lock in a
child process of lowered priority (so that on a busy machine filing keeps the CPU and the
renderings catch up when it is idle), and
adds the document with an audit entry in one short transaction with the message id
(idempotent: a redelivery finds the rendering there and adds nothing). `EANTRAG_PDF_RENDERINGS=
false` makes the worker acknowledge without rendering (for comparisons, or an authority whose
e-Akte renders itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casefile import audit
from casefile.models import Dokument, Vorgang
from casefile.pdfa import CONFORMANCE_NAME, PDF, PdfaDocument, keep
from casefile.readable import AttachmentLine, Field, ReadableApplication, german_size
from casefile.rendering import INTRO, media_name, readable_application
from contracts.status import StatusChanged
from eantrag.blobs import TieredBlobStore
from eantrag.broker import RENDERING_QUEUE, IncomingMessage
from eantrag.consumer import idempotent
from eantrag.db import Database, Insert, insert_rows, utcnow
from eantrag.runtime import Runtime, Worker

log = structlog.get_logger(__name__)

CONSUMER = "casefile.renderer"
ACTOR = "system:renderer"
DOCUMENT_KEY = "rendering:pdfa"
TITLE = "Antrag (Lesefassung, PDF/A)"


def render_pdf(view: ReadableApplication, authority_name: str, created_at: datetime) -> bytes:
    """The readable view as a PDF/A-2b document."""
    reference = next((f.value for f in view.facts if f.label == "Aktenzeichen"), "")
    doc = PdfaDocument(
        title=view.title,
        author=authority_name,
        subject=f"Lesefassung des Antrags {reference}".strip(),
        created_at=created_at,
        footer=f"{authority_name} · {reference} · Lesefassung",
    )
    doc.title(view.title)
    doc.paragraph(INTRO, size=8.5)
    doc.fields(view.facts, size=8.5)
    doc.rule()
    for section in view.sections:
        doc.heading(section.title, section.level)
        doc.fields(section.fields)
    if view.attachments:
        doc.heading("Anlagen")
        for number, line in enumerate(view.attachments, start=1):
            doc.fields(
                [
                    Field(f"Anlage {number}", line.name),
                    Field("Art und Größe", f"{line.media_type}, {line.size}"),
                    Field("SHA-256", line.sha256),
                ]
            )
    return doc.output()


NICENESS = 10
"""How much lower than filing the rendering process runs: renderings are background work that
may lag, filing is what the citizen and the clerk wait for."""


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not allowed: normal priority
        os.nice(NICENESS)


@cache
def _render_process() -> ProcessPoolExecutor:
    """One child process per worker process renders. fpdf2 is pure Python and holds the GIL for
    the ~60 ms of a document: in a thread it would stall the event loop beside it (in the
    embedded default, the API's); in a child of lowered priority it takes only CPU time that
    filing leaves. `spawn`, because forking a process that runs threads is unsafe."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(1, mp_context=context, initializer=_lower_priority)


def view_of_case(case: Vorgang) -> ReadableApplication:
    """The readable view of a filed case, from its rows (the record, the original, the Akte)."""
    original = next(d for d in case.documents if d.kind == "original")
    attachments = [
        AttachmentLine(
            d.filename or d.title, media_name(d.media_type), german_size(d.size), d.sha256
        )
        for d in case.documents
        if d.kind == "attachment"
    ]
    return readable_application(
        record=case.record,
        form_id=case.form_id,
        leika_urn=case.leika_urn,
        application_id=str(case.application_id),
        received_at=case.received_at,
        authority_name=case.akte.authority_name,
        original_media_type=original.media_type,
        original_size=original.size,
        original_sha256=original.sha256,
        attachments=attachments,
        file_reference=case.akte.aktenzeichen,
    )


async def _case(session: AsyncSession, application_id: uuid.UUID, lock: bool) -> Vorgang | None:
    query = (
        select(Vorgang)
        .where(Vorgang.application_id == application_id)
        .options(selectinload(Vorgang.akte), selectinload(Vorgang.documents))
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update(of=Vorgang)
    return await session.scalar(query)


@dataclass(frozen=True)
class Rendered:
    """A PDF/A rendering made, not yet added to its case."""

    application_id: uuid.UUID
    blob_key: str
    sha256: str
    size: int
    blob_rows: list[Insert]
    """A small rendering's row of `inline_blobs`, for the transaction that adds it."""
    at: datetime


async def render(
    db: Database, blobs: TieredBlobStore, application_id: uuid.UUID
) -> Rendered | None:
    """Read the filed case and render it, outside any transaction (a SQLite writer would hold
    the database's one write lock for the whole rendering). None when there is nothing to do:
    no such case any more, or it has its rendering already."""
    async with db.sessionmaker() as session:
        case = await _case(session, application_id, lock=False)
        if case is None or any(d.document_key == DOCUMENT_KEY for d in case.documents):
            return None
        view, authority = view_of_case(case), case.akte.authority_name
    now = utcnow()
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(_render_process(), render_pdf, view, authority, now)
    key, sha256, rows = await keep(blobs, data)  # a large one is stored now, durably
    return Rendered(application_id, key, sha256, len(data), rows, now)


async def add_rendering(session: AsyncSession, rendered: Rendered) -> Dokument | None:
    """Add a rendering to its Vorgang (locked here) with an audit entry; None if the case is
    gone or has its rendering already (a redelivery, or a competing renderer was first)."""
    case = await _case(session, rendered.application_id, lock=True)
    if case is None or any(d.document_key == DOCUMENT_KEY for d in case.documents):
        return None
    await insert_rows(session, rendered.blob_rows)
    key, sha256 = rendered.blob_key, rendered.sha256
    now = rendered.at
    original = next(d for d in case.documents if d.kind == "original")
    document = Dokument(
        id=uuid.uuid4(),
        vorgang_id=case.id,
        kind="rendering",
        document_key=DOCUMENT_KEY,
        version=1,
        title=TITLE,
        filename="antrag.pdf",
        media_type=PDF,
        size=rendered.size,
        sha256=sha256,
        sha512=None,
        blob_key=key,
        derived_from=original.id,
        conformance=CONFORMANCE_NAME,
        created_at=now,
        created_by=ACTOR,
    )
    session.add(document)
    audit.append(
        session,
        case,
        actor=ACTOR,
        action="document.added",
        new_value={
            "documentId": str(document.id),
            "kind": "rendering",
            "conformance": CONFORMANCE_NAME,
            "sha256": sha256,
            "derivedFrom": str(original.id),
        },
        at=now,
    )
    case.updated_at = now
    return document


def _application_id(message: IncomingMessage) -> uuid.UUID:
    """The filed application named by the status event (a malformed one dead-letters)."""
    return StatusChanged.parse(message.body).application_id


def workers(runtime: Runtime) -> dict[str, Worker]:
    enabled = runtime.settings.pdf_renderings
    ready: dict[int, Rendered] = {}

    async def write(session: AsyncSession, message: IncomingMessage) -> None:
        rendered = ready.get(id(message))
        if rendered is None:
            return
        document = await add_rendering(session, rendered)
        if document is not None:
            log.info(
                "casefile.rendered",
                application_id=str(rendered.application_id),
                document_id=str(document.id),
                size=document.size,
            )

    commit = idempotent(CONSUMER, runtime.db, write)

    async def handle(message: IncomingMessage) -> None:
        """Render first, then add the document and the message id in one short transaction."""
        application_id = _application_id(message)
        if not enabled:
            # Nothing is written, so there is nothing to make idempotent: acknowledge at once.
            # (A transaction recording the message id cost 2.4 CPU ms per application in this
            # worker alone, `python -m bench pipeline --renderings off`.)
            return
        rendered = await render(runtime.db, runtime.blobs, application_id)
        if rendered is not None:
            ready[id(message)] = rendered
        try:
            await commit(message)
        finally:
            ready.pop(id(message), None)

    async def renderer() -> None:
        await runtime.broker.consume(
            RENDERING_QUEUE, handle, prefetch=runtime.settings.queue_prefetch
        )

    return {"renderer": renderer}
