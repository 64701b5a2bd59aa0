"""E-mail to the citizen through a real SMTP server (aiosmtpd): received → filed → documents
asked for → decided, each once, each kept in the case file; a send that failed while the server
was down arrives exactly once when it is back; and without SMTP no mail, and the page says so."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import orjson
from prometheus_client import REGISTRY

from archive.casefile_source import KINDS, CasefileSource
from bootstrap.app import create_app
from bootstrap.wiring import open_pipeline
from contracts.forms import FORMS
from eantrag.broker import (
    EVENTS_EXCHANGE,
    INTAKE_EXCHANGE,
    NOTIFICATIONS_QUEUE,
    OutgoingMessage,
    dead_letter_queue,
)
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from intake.fitconnect import metadata_for
from intake.fitconnect import submission as fit_submission
from tests.casefile.support import DRESDEN_ID, bearer, issue_token
from tests.citizen.conftest import SmtpServer
from tests.citizen.support import (
    DOG_OWNER,
    WITH_NOTIFICATIONS,
    case_of,
    clerk_post,
    notifications,
    path_of,
    submit,
    wait_for_status,
)
from tests.conftest import EXAMPLES
from tests.identity.support import as_portal
from tests.routing.support import (
    import_example,
    queue_bodies,
    queue_depth,
    wait_for,
    workers,
)

MISSING = "Bitte senden Sie uns den Nachweis über die Haftpflichtversicherung Ihres Hundes."


async def test_the_citizen_hears_of_each_step_once(
    client: httpx.AsyncClient, runtime: Runtime, smtp_server: SmtpServer
) -> None:
    inbox = smtp_server.inbox
    await import_example(runtime.db)
    receipt = await submit(client)
    token = (await issue_token(runtime.db, DRESDEN_ID)).token
    async with workers(runtime, *WITH_NOTIFICATIONS):
        await wait_for(lambda: _count(inbox.messages, 2), within=30)
        state = await wait_for_status(client, receipt, "filed")
        case = await case_of(client, token, receipt)
        await clerk_post(client, token, case, "transitions", {"to": "in_progress"})
        held = await clerk_post(client, token, case, "missing-documents", {"message": MISSING})
        assert held["status"] == "on_hold"
        await wait_for(lambda: _count(inbox.messages, 3), within=30)
        assert (await wait_for_status(client, receipt, "on_hold"))["timeline"][-1]["detail"] == {
            "message": MISSING
        }
        await clerk_post(client, token, case, "transitions", {"to": "in_progress"})
        await clerk_post(
            client, token, case, "transitions", {"to": "decided", "outcome": "granted"}
        )
        await wait_for(lambda: _count(inbox.messages, 4), within=30)

        # The same event once more (a re-publish has a new message id): nobody is told twice.
        filed_event = next(e for e in state["timeline"] if e["status"] == "filed")
        await runtime.broker.publish(
            [
                OutgoingMessage(
                    message_id=uuid.uuid4(),
                    exchange=EVENTS_EXCHANGE,
                    routing_key="application.filed",
                    type="application.filed",
                    body=orjson.dumps(
                        {
                            "applicationId": receipt["applicationId"],
                            "status": "filed",
                            "at": filed_event["at"],
                            "detail": filed_event["detail"],
                        }
                    ),
                )
            ]
        )
        await wait_for(lambda: _drained(runtime), within=10)

    assert len(inbox.messages) == 4
    received, filed, on_hold, decided = inbox.messages
    reference = state["fileReference"]
    for mail in inbox.messages:
        assert mail["To"] == DOG_OWNER
        assert mail["From"] == "Bürgerservice <antrag@example.de>"
        assert receipt["statusUrl"] in mail.get_content()
    assert str(received["Subject"]).startswith("Ihr Antrag ist eingegangen")
    assert receipt["applicationId"] in received.get_content()
    assert reference in str(filed["Subject"]) and state["authority"] in filed.get_content()
    assert reference in str(on_hold["Subject"]) and MISSING in on_hold.get_content()
    assert "bewilligt" in decided.get_content()

    # The Bescheid link of the mail fetches the case's decision document.
    link = next(line.strip() for line in decided.get_content().splitlines() if "/bescheid?" in line)
    path, params = path_of(link)
    bescheid = await client.get(path, params=params)
    assert bescheid.status_code == 200
    case = await case_of(client, token, receipt)
    decision = next(d for d in case["documents"] if d["kind"] == "decision")
    assert bescheid.content == (await client.get(decision["href"], headers=bearer(token))).content

    # Every message sent is a document of the case, in the order sent, and in its audit trail.
    kept = [d for d in case["documents"] if d["kind"] == "notification"]
    assert len(kept) == 4
    for document, mail in zip(kept, inbox.messages, strict=True):
        text = (await client.get(document["href"], headers=bearer(token))).text
        assert str(mail["Message-ID"]) in text and str(mail["Subject"]) in text
    trail = (await client.get(f"/v1/cases/{case['id']}/audit", headers=bearer(token))).json()
    assert trail["verified"]
    added = [
        e
        for e in trail["entries"]
        if e["action"] == "document.added" and e["actor"] == "system:notifications"
    ]
    assert len(added) == 4
    assert any(e["newValue"] == {"status": "on_hold", "reason": MISSING} for e in trail["entries"])
    rows = await notifications(runtime.db, receipt["applicationId"])
    assert [(r.event, r.outcome) for r in rows] == [
        ("received", "sent"),
        ("filed", "sent"),
        ("on_hold", "sent"),
        ("decided", "sent"),
    ]
    assert all(r.document_id is not None and r.text is None for r in rows)
    assert {r.recipient_masked for r in rows} == {"t…@example.org"}


async def test_a_send_that_failed_arrives_once_when_the_server_is_back(
    client: httpx.AsyncClient, runtime: Runtime, smtp_server: SmtpServer
) -> None:
    smtp_server.stop()
    before = _failed_sends()
    receipt = await submit(client)
    async with workers(runtime, "outbox-relay", "notifications"):
        await wait_for(lambda: _more_failed_sends_than(before), within=15)
        smtp_server.start()
        await wait_for(lambda: _count(smtp_server.inbox.messages, 1), within=15)
        await wait_for(lambda: _drained(runtime), within=15)
        await asyncio.sleep(1.5)  # a second send would come now
    assert len(smtp_server.inbox.messages) == 1
    assert smtp_server.inbox.messages[0]["To"] == DOG_OWNER
    rows = await notifications(runtime.db, receipt["applicationId"])
    assert [(r.event, r.outcome) for r in rows] == [("received", "sent")]
    # Not filed yet: there is no case. The text waits for the case.
    assert rows[0].document_id is None and rows[0].text


async def test_after_the_last_retry_the_mail_is_dead_lettered(
    settings: Settings, smtp_server: SmtpServer
) -> None:
    smtp_server.stop()
    runtime = await open_pipeline(settings.model_copy(update={"retry_delays_seconds": [1]}))
    try:
        app = create_app(runtime.settings, runtime=runtime)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await as_portal(client, runtime.db)
                receipt = await submit(client)
            async with workers(runtime, "outbox-relay", "notifications"):
                await wait_for(
                    lambda: _depth(runtime, dead_letter_queue(NOTIFICATIONS_QUEUE), 1), within=15
                )
        assert await notifications(runtime.db, receipt["applicationId"]) == []
    finally:
        await runtime.close()


async def test_without_smtp_no_mail_and_the_page_says_so(
    settings: Settings, smtp_server: SmtpServer
) -> None:
    runtime = await open_pipeline(settings.model_copy(update={"smtp_url": None}))
    try:
        await import_example(runtime.db)
        app = create_app(runtime.settings, runtime=runtime)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await as_portal(client, runtime.db)
                receipt = await submit(client)
                async with workers(runtime, *WITH_NOTIFICATIONS):
                    await wait_for_status(client, receipt, "filed")
                    await wait_for(lambda: _drained(runtime), within=15)
                path, params = path_of(receipt["statusUrl"])
                page = await client.get(path, params=params, headers={"accept": "text/html"})
        assert smtp_server.inbox.messages == []
        # Without a server nobody is told: the events are not queued for the worker at all.
        assert NOTIFICATIONS_QUEUE not in runtime.broker.topology.queues
        assert await notifications(runtime.db, receipt["applicationId"]) == []
        assert "keine E-Mail-Benachrichtigung eingerichtet" in page.text
    finally:
        await runtime.close()


async def test_the_fit_connect_reply_channel_is_the_address(
    client: httpx.AsyncClient, runtime: Runtime, smtp_server: SmtpServer
) -> None:
    receipt = await submit_replying_to(client, "portal-postfach@example.net")
    async with workers(runtime, "outbox-relay", "notifications"):
        await wait_for(lambda: _count(smtp_server.inbox.messages, 1), within=15)
        await wait_for(lambda: _drained(runtime), within=15)  # recorded, not only sent
    assert smtp_server.inbox.messages[0]["To"] == "portal-postfach@example.net"
    rows = await notifications(runtime.db, receipt["applicationId"])
    assert [(r.event, r.recipient_masked) for r in rows] == [("received", "p…@example.net")]


async def _count(messages: list[object], n: int) -> bool:
    return len(messages) >= n


def _failed_sends() -> float:
    labels = {"event": "received", "outcome": "failed"}
    return REGISTRY.get_sample_value("eantrag_notifications_total", labels) or 0.0


async def _more_failed_sends_than(before: float) -> bool:
    return _failed_sends() > before


async def _depth(runtime: Runtime, queue: str, n: int) -> bool:
    return await queue_depth(runtime.db, queue) >= n


async def _drained(runtime: Runtime) -> bool:
    return await queue_depth(runtime.db, NOTIFICATIONS_QUEUE) == 0


async def test_the_mails_go_to_the_archive_with_the_case_and_nothing_stays_behind(
    client: httpx.AsyncClient, runtime: Runtime, smtp_server: SmtpServer
) -> None:
    await import_example(runtime.db)
    receipt = await submit(client)
    token = (await issue_token(runtime.db, DRESDEN_ID)).token
    async with workers(runtime, *WITH_NOTIFICATIONS):
        await wait_for_status(client, receipt, "filed")
        case = await case_of(client, token, receipt)
        await clerk_post(client, token, case, "transitions", {"to": "in_progress"})
        await clerk_post(
            client, token, case, "transitions", {"to": "decided", "outcome": "granted"}
        )
        await clerk_post(client, token, case, "transitions", {"to": "closed"})
        await wait_for(lambda: _count(smtp_server.inbox.messages, 3), within=30)
        await wait_for(lambda: _drained(runtime), within=10)

    async with runtime.db.transaction() as session:
        source = CasefileSource(session)
        akte = await source.load(uuid.UUID(case["akte"]["id"]))
        documents = akte.vorgaenge[0].documents
        mails = [d for d in documents if d.kind == KINDS["notification"]]
        assert len(mails) == 3
        assert all(d.versions[0].filename.endswith(".txt") for d in mails)
        await source.delete_case(
            akte.id, reason="test", archive_id="ARCH-1", process_id=uuid.uuid4()
        )
    assert await notifications(runtime.db, receipt["applicationId"]) == []


async def test_two_deliveries_of_one_event_at_once_send_one_mail(
    client: httpx.AsyncClient, runtime: Runtime, smtp_server: SmtpServer
) -> None:
    receipt = await submit(client)  # its own message stays in the outbox: no relay runs
    body = orjson.dumps(
        {
            "applicationId": receipt["applicationId"],
            "receivedAt": receipt["receivedAt"],
            "formId": receipt["form"],
        }
    )
    copies = [
        OutgoingMessage(uuid.uuid4(), INTAKE_EXCHANGE, "application.received", "x", body)
        for _ in range(3)
    ]
    await runtime.broker.publish(copies)
    async with workers(runtime, "notifications"):
        await wait_for(lambda: _drained(runtime), within=15)
    assert len(smtp_server.inbox.messages) == 1
    assert len(await notifications(runtime.db, receipt["applicationId"])) == 1


async def test_an_address_the_server_refuses_is_dead_lettered_at_once(
    client: httpx.AsyncClient, runtime: Runtime, smtp_server: SmtpServer
) -> None:
    await submit_replying_to(client, "refused@example.net")
    dead = dead_letter_queue(NOTIFICATIONS_QUEUE)
    async with workers(runtime, "outbox-relay", "notifications"):
        await wait_for(lambda: _depth(runtime, dead, 1), within=10)
    letters = await queue_bodies(runtime.db, dead)
    assert len(letters) == 1
    assert "recipient refused" in letters[0]["headers"]["x-death-reason"]
    assert smtp_server.inbox.messages == []


async def submit_replying_to(client: httpx.AsyncClient, address: str) -> dict[str, object]:
    """The dog registration as a FIT-Connect submission whose reply channel is `address`."""
    data = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    form = FORMS["hundeanmeldung"]
    metadata = metadata_for(form, data, "application/xml", [])
    metadata["replyChannel"] = {"eMail": {"address": address}}
    body, content_type = fit_submission(form, data, "application/xml", metadata=metadata)
    response = await client.post(
        "/v1/applications", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 202, response.text
    receipt: dict[str, object] = response.json()
    return receipt
