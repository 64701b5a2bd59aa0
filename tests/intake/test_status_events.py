"""The status consumer: events of later stages reach the citizen's timeline in groups, in the
order they happened, and an event for an unknown application fails alone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from eantrag.broker import STATUS_QUEUE, IncomingMessage, PermanentError
from eantrag.consumer import grouped
from eantrag.runtime import Runtime
from intake.consumers import apply_status_events
from tests.conftest import EXAMPLES, new_message


def _event(application_id: str, status: str, at: datetime, **detail: str) -> IncomingMessage:
    body = {"applicationId": application_id, "status": status, "at": at.isoformat()}
    return IncomingMessage(
        message_id=uuid.uuid4(),
        queue=STATUS_QUEUE,
        routing_key=f"application.{status}",
        type=f"application.{status}",
        body=orjson.dumps({**body, "detail": detail}),
        headers={},
        attempts=0,
    )


async def test_late_events_join_the_timeline_without_turning_the_status_back(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    receipts = [
        (
            await client.post(
                "/v1/applications",
                content=new_message((EXAMPLES / "hundeanmeldung.xml").read_bytes()),
                headers={"content-type": "application/xml"},
            )
        ).json()
        for _ in range(3)
    ]
    handle = grouped("intake.status", runtime.db, apply_status_events)
    start = datetime.now(UTC)
    events = []
    for receipt in receipts:
        application_id = receipt["applicationId"]
        # filed arrives before routed, as after a retry of the routed event
        events.append(_event(application_id, "filed", start + timedelta(seconds=2), ref="1"))
        events.append(_event(application_id, "routed", start + timedelta(seconds=1)))
    unknown = _event(str(uuid.uuid4()), "routed", start)
    results = await asyncio.gather(
        *(handle(m) for m in [*events[:3], unknown, *events[3:]]), return_exceptions=True
    )
    assert [type(r).__name__ for r in results] == ["NoneType"] * 3 + ["PermanentError"] + [
        "NoneType"
    ] * 3
    assert "unknown application" in str(results[3])
    for receipt in receipts:
        url = httpx.URL(receipt["statusUrl"])
        status = (await client.get(url.path, params=dict(url.params))).json()
        assert status["status"] == "filed"
        assert [e["status"] for e in status["timeline"]] == ["received", "routed", "filed"]


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        orjson.dumps({"applicationId": "x", "status": "filed", "at": "2026-01-01T00:00:00Z"}),
        orjson.dumps(
            {"applicationId": str(uuid.uuid4()), "status": "eaten", "at": "2026-01-01T00:00Z"}
        ),
        orjson.dumps(
            {"applicationId": str(uuid.uuid4()), "status": "filed", "at": "2026-01-01T00:00"}
        ),
    ],
)
async def test_malformed_status_events_are_permanent_errors(runtime: Runtime, body: bytes) -> None:
    message = IncomingMessage(uuid.uuid4(), STATUS_QUEUE, "application.filed", "", body, {}, 0)
    handle = grouped("intake.status", runtime.db, apply_status_events)
    with pytest.raises(PermanentError):
        await handle(message)
