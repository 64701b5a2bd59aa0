"""The renderer: one PDF/A per filed application, with an audit entry, never two."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from casefile import repository
from casefile.models import Dokument
from casefile.renderings import DOCUMENT_KEY, add_rendering, render
from eantrag.blobs import read_all
from eantrag.runtime import Runtime
from tests.casefile.pdfa_check import assert_pdfa
from tests.casefile.support import authority_message, file_directly


async def test_a_filed_application_gets_one_pdfa_rendering_with_an_audit_entry(
    runtime: Runtime,
) -> None:
    body = await authority_message(runtime.blobs, attachments=1)
    case = await file_directly(runtime, body)
    rendered = await render(runtime.db, runtime.blobs, case.application_id)
    assert rendered is not None
    async with runtime.db.transaction() as session:
        assert await add_rendering(session, rendered) is not None
    async with runtime.db.transaction() as session:  # a competing renderer was second
        assert await add_rendering(session, rendered) is None
    assert (
        await render(runtime.db, runtime.blobs, case.application_id) is None
    )  # a redelivery renders nothing
    async with runtime.db.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(Dokument).where(
                    Dokument.vorgang_id == case.id, Dokument.document_key == DOCUMENT_KEY
                )
            )
        ).all()
        trail = await repository.audit_entries(session, case.id)
        original = await session.scalar(
            select(Dokument).where(Dokument.vorgang_id == case.id, Dokument.kind == "original")
        )
    [rendering] = rows
    assert rendering.conformance == "PDF/A-2b" and rendering.media_type == "application/pdf"
    assert original is not None and rendering.derived_from == original.id
    assert [e.action for e in trail] == ["filed", "document.added"]
    assert trail[-1].new_value["sha256"] == rendering.sha256
    text = " ".join(assert_pdfa(await read_all(runtime.blobs, rendering.blob_key)).split())
    assert original.sha256 in text.replace(" ", "") and "anlage-0.pdf" in text
    akte_reference = trail[0].new_value["fileReference"]
    assert akte_reference in text and "Erika" in text and "halter" not in text


async def test_a_case_no_longer_in_the_e_akte_is_not_rendered(runtime: Runtime) -> None:
    assert await render(runtime.db, runtime.blobs, uuid.uuid4()) is None
