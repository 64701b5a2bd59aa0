"""What is kept of each message, against the in-memory source: the receipt mail waits for the
case and is filed before the next message, and an event is recorded once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from citizen import service
from citizen.memory import MemorySource
from citizen.sources import Addressee
from eantrag.runtime import Runtime

LINKS = service.Links("https://portal.example/s?token=t", "https://portal.example/b?token=t")
SENDER = "Bürgerservice <antrag@example.de>"


def _event(application_id: uuid.UUID, name: str, at: datetime) -> service.Event:
    detail = {"authority": "Stadt Dresden", "fileReference": "022.31-2026-7"}
    return service.Event(application_id, name, at, detail if name != "received" else {})


async def test_the_receipt_waits_for_the_case(runtime: Runtime) -> None:
    application_id = uuid.uuid4()
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    source = MemorySource()
    source.addressees[application_id] = Addressee(
        application_id, "erika@example.org", "Hundesteuer – Anmeldung", at
    )
    addressee = source.addressees[application_id]

    _, received = service.compose(_event(application_id, "received", at), addressee, LINKS, SENDER)
    async with runtime.db.transaction() as session:
        await service.record(session, source, received)
        assert await service.already_told(session, received.event)
    assert source.filed == {}  # no case yet

    source.cases.add(application_id)
    filed_at = at + timedelta(minutes=3)
    mail, filed = service.compose(
        _event(application_id, "filed", filed_at), addressee, LINKS, SENDER
    )
    assert (
        "022.31-2026-7" in str(mail["Subject"]) and "23.11.2026 um 10:30 Uhr" in mail.get_content()
    )
    async with runtime.db.transaction() as session:
        await service.record(session, source, filed)
    kept = source.filed[application_id]
    assert [m.filename.split("-")[2] for m in kept] == ["received", "filed"]
    assert all(m.media_type.startswith("text/plain") for m in kept)
    assert b"An: erika@example.org" in kept[0].content

    async with runtime.db.sessionmaker() as session:
        rows = await service.notifications_of(session, application_id)
    assert [(r.event, r.document_id is not None, r.text) for r in rows] == [
        ("received", True, None),
        ("filed", True, None),
    ]

    # The same event again cannot be recorded twice (the worker checks first; this is the net).
    with pytest.raises(IntegrityError):
        async with runtime.db.transaction() as session:
            await service.record(session, source, filed)


async def test_no_address_and_no_server_are_recorded_not_sent(runtime: Runtime) -> None:
    application_id = uuid.uuid4()
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    source = MemorySource(cases={application_id})
    async with runtime.db.transaction() as session:
        await service.record(
            session,
            source,
            service.not_sent(_event(application_id, "received", at), configured=False),
        )
        await service.record(
            session,
            source,
            service.not_sent(
                _event(application_id, "filed", at + timedelta(seconds=1)), configured=True
            ),
        )
    async with runtime.db.sessionmaker() as session:
        rows = await service.notifications_of(session, application_id)
    assert [r.outcome for r in rows] == ["not_configured", "no_address"]
    assert source.filed == {}
