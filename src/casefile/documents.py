"""A clerk reads and adds a case's documents: the use cases the JSON API and the pages share.

Reading: the bytes are spooled while hashed and handed out only if they are the filed ones
(SHA-256 and size); a mismatch is logged, audited as `document.integrity_failed` and refused.
Every read that is handed out is audited (`document.read`). Adding: the body is spooled while
hashed and capped, stored in the blob store before the transaction that adds the document to
the case (locked) with its audit entry.

Each function is one use case with its own transactions: the JSON routes and the pages are its
edges and only shape the answer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Literal

import structlog

from casefile import filing, repository, service
from casefile.auth import Principal
from casefile.errors import (
    BlobMismatch,
    CaseNotFound,
    DocumentCorrupted,
    DocumentNotFound,
    DocumentTooLarge,
    EmptyDocument,
)
from casefile.models import Dokument
from eantrag.blobs import (
    CHUNK,
    BlobNotFound,
    BlobStore,
    HashingSpool,
    SpoolTooLarge,
    spool_blob,
    spool_stream,
)
from eantrag.runtime import Runtime

log = structlog.get_logger(__name__)
Kind = Literal["decision", "upload"]


@dataclass
class VerifiedDocument:
    """A document and its bytes, checked against the recorded SHA-256; close `spool` (or let
    `stream` close it) when done."""

    document: Dokument
    spool: HashingSpool

    def read_all(self) -> bytes:
        try:
            return self.spool.read_all()
        finally:
            self.spool.close()


async def stream(spool: HashingSpool) -> AsyncIterator[bytes]:
    try:
        file = spool.rewind()
        while chunk := file.read(CHUNK):
            yield chunk
    finally:
        spool.close()


async def _spool_verified(blobs: BlobStore, document: Dokument, memory: int) -> HashingSpool:
    """The document's bytes, spooled while hashing; refused if they are not what was filed.
    Closed by the caller (the response's stream), or here on failure."""
    try:
        spool = await spool_blob(blobs, document.blob_key, memory)
    except BlobNotFound as exc:
        raise BlobMismatch(f"blob {document.blob_key} is missing") from exc
    if spool.sha256 != document.sha256 or spool.size != document.size:
        spool.close()
        raise BlobMismatch(
            f"blob {document.blob_key} holds {spool.size} bytes with SHA-256 {spool.sha256}"
        )
    return spool


async def read(
    runtime: Runtime, who: Principal, case_id: uuid.UUID, document_id: uuid.UUID
) -> VerifiedDocument:
    """A document of the principal's authority, verified and its read audited."""
    async with runtime.db.sessionmaker() as session:
        case = await repository.case(session, who.scope, case_id)
        document = await repository.document(session, case_id, document_id) if case else None
    if case is None:
        raise CaseNotFound(f"no case {case_id} for this authority")
    if document is None:
        raise DocumentNotFound(f"no document {document_id} in case {case_id}")
    try:
        spool = await _spool_verified(runtime.blobs, document, runtime.settings.spool_memory_bytes)
    except BlobMismatch as exc:
        log.error(
            "casefile.document_integrity_failed",
            case_id=str(case_id),
            document_id=str(document_id),
            error=str(exc),
        )
        async with runtime.db.transaction() as session:
            locked = await repository.case(session, who.scope, case_id, lock=True)
            if locked is not None:
                service.record_integrity_failure(session, locked, document, str(exc), who.actor)
        raise DocumentCorrupted(
            f"document {document_id} does not match its recorded SHA-256; it was not sent"
        ) from exc
    try:
        async with runtime.db.transaction() as session:
            locked = await repository.case(session, who.scope, case_id, lock=True)
            if locked is None:
                raise CaseNotFound(f"no case {case_id} for this authority")
            service.record_read(session, locked, document, who.actor)
    except BaseException:
        spool.close()
        raise
    return VerifiedDocument(document, spool)


async def add(
    runtime: Runtime,
    who: Principal,
    case_id: uuid.UUID,
    body: AsyncIterable[bytes],
    *,
    media_type: str,
    filename: str | None,
    kind: Kind,
) -> Dokument:
    """Store an uploaded document (at most `attachment_max_bytes`, not empty) in the case."""
    async with runtime.db.sessionmaker() as session:
        if await repository.case(session, who.scope, case_id) is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
    cap = runtime.settings.attachment_max_bytes
    try:
        spool = await spool_stream(body, runtime.settings.spool_memory_bytes, max_size=cap)
    except SpoolTooLarge as exc:
        raise DocumentTooLarge(f"a document may have at most {cap} bytes") from exc
    try:
        if spool.size == 0:
            raise EmptyDocument("send the document's bytes as the request body")
        sha256, size = spool.sha256, spool.size
        key = await runtime.blobs.put(spool.rewind(), sha256, size, media_type)
    finally:
        spool.close()
    async with runtime.db.transaction() as session:
        case = await repository.case(session, who.scope, case_id, lock=True)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        return await service.add_document(
            session,
            case,
            filing.StoredBlob(key, sha256, size),
            media_type=media_type,
            filename=filename,
            kind=kind,
            actor=who.actor,
        )
