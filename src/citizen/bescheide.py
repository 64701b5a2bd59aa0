"""The citizen fetches the Bescheid of their application: the use case behind the status URL's
download link.

The bytes are handed out only if they are the filed ones (SHA-256 and size); every download is in
the case's audit trail. A wrong token, an unknown application and an application without a
decision are the same answer: nothing, so that a guesser learns nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import structlog

from citizen.errors import BescheidCorrupted
from citizen.pipeline_source import PipelineSource
from citizen.sources import Bescheid
from eantrag.blobs import read_all
from eantrag.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class FetchedBescheid:
    bescheid: Bescheid
    data: bytes


async def fetch(runtime: Runtime, application_id: uuid.UUID) -> FetchedBescheid | None:
    """The application's Bescheid, checked and its download audited; None if there is none."""
    source = PipelineSource(runtime.blobs)
    async with runtime.db.sessionmaker() as session:
        bescheid = await source.bescheid(session, application_id)
    if bescheid is None:
        return None
    data = await read_all(runtime.blobs, bescheid.blob_key)
    if hashlib.sha256(data).hexdigest() != bescheid.sha256 or len(data) != bescheid.size:
        log.error(
            "citizen.bescheid_integrity_failed",
            application_id=str(application_id),
            document_id=str(bescheid.document_id),
        )
        raise BescheidCorrupted("the Bescheid does not match its recorded SHA-256; not sent")
    async with runtime.db.transaction() as session:
        await source.record_download(session, application_id, bescheid)
    return FetchedBescheid(bescheid, data)
