"""The router on the embedded default (in-database queue), on SQLite and PostgreSQL: every
accepted application reaches exactly one inbox or triage, and nothing is delivered twice."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import orjson
import pytest
from sqlalchemy import delete, func, select, update

from bootstrap.demo import example_cases
from bootstrap.wiring import retry_application
from contracts.application import REDRIVE_HEADER
from eantrag.broker import INTAKE_EXCHANGE, UNROUTABLE_QUEUE, OutgoingMessage
from eantrag.db import utcnow
from eantrag.models import OutboxMessage, QueuedMessage
from eantrag.runtime import Runtime
from intake import redrive
from intake.models import Application, StatusEvent
from routing import service
from routing.models import RoutingDecision
from tests.routing.support import (
    DRESDEN,
    import_example,
    queue_bodies,
    queue_depth,
    received,
    stage_received,
    wait_for,
    workers,
)

PIPELINE = ("outbox-relay", "router")
DRESDEN_INBOX = "authority.stadt-dresden.inbox"
LEIPZIG_INBOX = "authority.stadt-leipzig.inbox"


async def status_of(client: httpx.AsyncClient, receipt: dict[str, object]) -> dict[str, object]:
    url = httpx.URL(str(receipt["statusUrl"]))
    body: dict[str, object] = (await client.get(url.path, params=dict(url.params))).json()
    return body


async def submit(client: httpx.AsyncClient, body: bytes, content_type: str) -> dict[str, object]:
    response = await client.post(
        "/v1/applications", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 202, response.text
    receipt: dict[str, object] = response.json()
    return receipt


async def settled(client: httpx.AsyncClient, receipts: list[dict[str, object]]) -> bool:
    states = [(await status_of(client, r))["status"] for r in receipts]
    return "received" not in states


async def test_every_example_reaches_its_authority_exactly_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
) -> None:
    await import_example(runtime.db)
    expected: dict[str, str] = {}
    receipts = []
    for case in example_cases():
        if not case.expect_accept:
            continue
        receipt = await submit(client, case.body, case.content_type)
        receipts.append(receipt)
        expected[str(receipt["applicationId"])] = (
            "stadt-dresden" if "hunde" in case.title else "stadt-leipzig"
        )
    assert len(receipts) == 5
    async with workers(runtime, *PIPELINE):
        await wait_for(lambda: settled(client, receipts))
    delivered = {}
    for queue in (DRESDEN_INBOX, LEIPZIG_INBOX):
        for message in await queue_bodies(runtime.db, queue):
            body = message["body"]
            assert body["applicationId"] not in delivered, "delivered twice"
            delivered[body["applicationId"]] = (queue, body)
    assert {a: q.split(".")[1] for a, (q, _) in delivered.items()} == expected
    for receipt in receipts:
        queue, body = delivered[str(receipt["applicationId"])]
        assert (body["version"], body["type"]) == ("1.0", "eantrag.application.v1")
        assert body["authority"]["id"] == queue.split(".")[1]
        assert body["leikaUrn"] == receipt["service"]
        assert body["original"]["sha256"] == receipt["sha256"]
        assert body["original"]["sha512"] == receipt["sha512"]
        assert body["routing"]["matchedAreaKey"] in (DRESDEN, "147130000000")
        assert body["record"]
        state = await status_of(client, receipt)
        assert state["status"] == "routed"
        assert state["authority"] == body["authority"]["name"]
    with_attachments = [b for _, b in delivered.values() if b["attachments"]]
    assert len(with_attachments) == 1
    for attachment in with_attachments[0]["attachments"]:
        assert attachment["blobKey"].endswith(attachment["sha256"])
        assert len(attachment["sha512"]) == 128 and attachment["size"] > 0
    assert await queue_depth(runtime.db, UNROUTABLE_QUEUE) == 0


async def test_the_same_application_twice_is_delivered_once(runtime: Runtime) -> None:
    await import_example(runtime.db)
    body = received()
    message = OutgoingMessage(
        uuid.uuid4(),
        INTAKE_EXCHANGE,
        "application.received",
        "application.received",
        orjson.dumps(body),
    )
    async with workers(runtime, "outbox-relay", "router"):
        await runtime.broker.publish([message])
        await wait_for(lambda: _depth_is(runtime, DRESDEN_INBOX, 1))
        # Redelivery of the same message, then a copy under a new id, then a re-drive.
        await runtime.broker.publish([message])
        await stage_received(runtime.db, [body])
        await stage_received(runtime.db, [body], headers={REDRIVE_HEADER: "test"})
        await wait_for(lambda: _depth_is(runtime, "eantrag.routing", 0))
        await wait_for(lambda: _outbox_empty(runtime))
    assert await queue_depth(runtime.db, DRESDEN_INBOX) == 1
    async with runtime.db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(RoutingDecision)) == 1


async def test_a_permanently_failing_message_is_dead_lettered_while_others_flow(
    runtime: Runtime,
) -> None:
    await import_example(runtime.db)
    good = [received() for _ in range(5)]
    broken = [
        OutgoingMessage(
            uuid.uuid4(), INTAKE_EXCHANGE, "application.received", "application.received", payload
        )
        for payload in (b"{not json", orjson.dumps({"applicationId": "x"}))
    ]
    await stage_received(runtime.db, good[:2])
    await runtime.broker.publish(broken)
    await stage_received(runtime.db, good[2:])
    async with workers(runtime, "outbox-relay", "router"):
        await wait_for(lambda: _depth_is(runtime, DRESDEN_INBOX, 5))
        await wait_for(lambda: _depth_is(runtime, "eantrag.routing.dlq", 2))
        # the relay is woken by the router's commit, so the inbox can fill before the acks
        await wait_for(lambda: _depth_is(runtime, "eantrag.routing", 0))
    dead = await _raw(runtime, "eantrag.routing.dlq")
    assert all("malformed application.received" in m.headers["x-death-reason"] for m in dead)


async def test_no_responsible_authority_goes_to_triage_with_the_reason(runtime: Runtime) -> None:
    await import_example(runtime.db)
    bavaria = received(ars="091620000000", plz="80331")
    ambiguous = received(ars=None, plz="01796")
    await stage_received(runtime.db, [bavaria, ambiguous])
    async with workers(runtime, "outbox-relay", "router"):
        await wait_for(lambda: _depth_is(runtime, UNROUTABLE_QUEUE, 2))
    triage = {
        m["body"]["applicationId"]: m["body"]
        for m in await queue_bodies(runtime.db, UNROUTABLE_QUEUE)
    }
    assert "091620000000" in triage[bavaria["applicationId"]]["reason"]
    assert "spans several municipalities" in triage[ambiguous["applicationId"]]["reason"]
    assert triage[bavaria["applicationId"]]["original"] == bavaria["original"]


async def test_retry_routes_an_unroutable_application_after_the_directory_is_fixed(
    client: httpx.AsyncClient,
    runtime: Runtime,
) -> None:
    [case] = [c for c in example_cases() if c.title.startswith("hundeanmeldung.xml as")]
    receipt = await submit(client, case.body, case.content_type)
    async with workers(runtime, *PIPELINE):
        await wait_for(lambda: settled(client, [receipt]))
        assert (await status_of(client, receipt))["status"] == "unroutable"
        await import_example(runtime.db)
        outcome = await retry_application(runtime, uuid.UUID(str(receipt["applicationId"])))
        assert outcome.known and outcome.routed_to is None
        await wait_for(lambda: _status_is(client, receipt, "routed"))
        # Retrying a routed application never delivers it again.
        again = await retry_application(runtime, uuid.UUID(str(receipt["applicationId"])))
        assert again.routed_to == "Landeshauptstadt Dresden"
        await wait_for(lambda: _outbox_empty(runtime))
        await wait_for(lambda: _depth_is(runtime, "eantrag.routing", 0))
    assert await queue_depth(runtime.db, DRESDEN_INBOX) == 1
    timeline = [e["status"] for e in (await status_of(client, receipt))["timeline"]]  # type: ignore[union-attr]
    assert timeline == ["received", "unroutable", "routed"]


async def test_retry_moves_dead_letters_back_with_a_fresh_attempt_count(
    client: httpx.AsyncClient,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await import_example(runtime.db)
    [case] = [c for c in example_cases() if c.title.startswith("wohngeld.json as")]
    receipt = await submit(client, case.body, case.content_type)

    async def unavailable(*_: object) -> None:
        raise ConnectionError("directory unavailable")

    monkeypatch.setattr(service, "decide", unavailable)
    async with workers(runtime, "outbox-relay", "router"):
        await wait_for(lambda: _depth_is(runtime, "eantrag.routing.dlq", 1), within=15)
    [dead] = await _raw(runtime, "eantrag.routing.dlq")
    assert dead.attempts == 2 and "directory unavailable" in dead.headers["x-death-reason"]
    monkeypatch.undo()
    outcome = await retry_application(runtime, uuid.UUID(str(receipt["applicationId"])))
    assert outcome.dead_letters_moved == 1
    async with workers(runtime, *PIPELINE):
        await wait_for(lambda: _status_is(client, receipt, "routed"))
        await wait_for(lambda: _depth_is(runtime, "eantrag.routing", 0))
    assert await queue_depth(runtime.db, LEIPZIG_INBOX) == 1
    assert await queue_depth(runtime.db, "eantrag.routing.dlq") == 0


async def test_sweeper_redrives_what_is_stuck_and_repeats_a_lost_status(
    client: httpx.AsyncClient,
    runtime: Runtime,
) -> None:
    await import_example(runtime.db)
    [lost, decided] = [
        await submit(client, c.body, c.content_type)
        for c in example_cases()
        if c.title.startswith(("hundeanmeldung.json as", "wohngeld.xml as"))
    ]
    # `lost`: its message never left intake. `decided`: routed, but its timeline does not say so
    # (as when an earlier version's status event was lost on the way).
    async with runtime.db.transaction() as session:
        for row in (await session.scalars(select(OutboxMessage))).all():
            if orjson.loads(row.body)["applicationId"] == lost["applicationId"]:
                await session.delete(row)
    async with workers(runtime, "outbox-relay", "router"):
        await wait_for(lambda: _depth_is(runtime, LEIPZIG_INBOX, 1))
    decided_id = uuid.UUID(str(decided["applicationId"]))
    async with runtime.db.transaction() as session:
        await session.execute(
            delete(StatusEvent).where(
                StatusEvent.application_id == decided_id, StatusEvent.status == "routed"
            )
        )
        await session.execute(
            update(Application).where(Application.id == decided_id).values(status="received")
        )
    assert await redrive.sweep(runtime.db, older_than=timedelta(minutes=10)) == 0
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Application).values(updated_at=utcnow() - timedelta(minutes=11))
        )
    assert await redrive.sweep(runtime.db, older_than=timedelta(minutes=10)) == 2
    async with workers(runtime, *PIPELINE):
        await wait_for(lambda: settled(client, [lost, decided]))
    assert (await status_of(client, lost))["authority"] == "Landeshauptstadt Dresden"
    assert (await status_of(client, decided))["authority"] == "Stadt Leipzig"
    assert await queue_depth(runtime.db, DRESDEN_INBOX) == 1
    assert await queue_depth(runtime.db, LEIPZIG_INBOX) == 1
    timeline = [e["status"] for e in (await status_of(client, decided))["timeline"]]  # type: ignore[union-attr]
    assert timeline == ["received", "routed"]


async def test_router_declares_every_authority_queue_at_start(runtime: Runtime) -> None:
    await import_example(runtime.db)
    async with workers(runtime, "router"):
        await wait_for(lambda: _declared(runtime, 10))
    assert "stadt-pirna-fiktiv" in runtime.broker.topology.authority_ids


async def _declared(runtime: Runtime, count: int) -> bool:
    return len(runtime.broker.topology.authority_ids) >= count


async def _depth_is(runtime: Runtime, queue: str, depth: int) -> bool:
    return await queue_depth(runtime.db, queue) == depth


async def _outbox_empty(runtime: Runtime) -> bool:
    async with runtime.db.sessionmaker() as session:
        return (await session.scalars(select(OutboxMessage.id).limit(1))).first() is None


async def _status_is(client: httpx.AsyncClient, receipt: dict[str, object], status: str) -> bool:
    return (await status_of(client, receipt))["status"] == status


async def _raw(runtime: Runtime, queue: str) -> list[QueuedMessage]:
    async with runtime.db.sessionmaker() as session:
        return list(
            await session.scalars(select(QueuedMessage).where(QueuedMessage.queue == queue))
        )
