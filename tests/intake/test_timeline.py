"""The timeline port: a change reaches the citizen's timeline with the transaction that made it,
in the order it happened, whatever order the writes came in; an application intake no longer
knows fails nothing; a repeated change (a re-drive) is not written twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from contracts.status import StatusChanged, record_changes
from eantrag.runtime import Runtime
from tests.conftest import EXAMPLES, new_message


def _change(application_id: str, status: str, at: datetime, **detail: str) -> StatusChanged:
    return StatusChanged.model_validate(
        {"application_id": application_id, "status": status, "at": at, "detail": detail}
    )


async def _timeline(client: httpx.AsyncClient, receipt: dict[str, str]) -> dict[str, object]:
    url = httpx.URL(receipt["statusUrl"])
    body: dict[str, object] = (await client.get(url.path, params=dict(url.params))).json()
    return body


async def test_late_changes_join_the_timeline_without_turning_the_status_back(
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
    start = datetime.now(UTC)
    async with runtime.db.transaction() as session:
        for receipt in receipts:
            # filed is written before routed, as by a slower router beside a fast e-Akte
            filed = _change(receipt["applicationId"], "filed", start + timedelta(seconds=2), r="1")
            await record_changes(session, [filed])
        await record_changes(
            session,
            [
                _change(str(uuid.uuid4()), "routed", start),  # unknown: skipped, nothing fails
                *(
                    _change(r["applicationId"], "routed", start + timedelta(seconds=1))
                    for r in receipts
                ),
            ],
        )
    for receipt in receipts:
        status = await _timeline(client, receipt)
        assert status["status"] == "filed"
        assert [e["status"] for e in status["timeline"]] == ["received", "routed", "filed"]  # type: ignore[attr-defined]


async def test_a_repeated_change_is_written_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    receipt = (
        await client.post(
            "/v1/applications",
            content=new_message((EXAMPLES / "hundeanmeldung.xml").read_bytes()),
            headers={"content-type": "application/xml"},
        )
    ).json()
    routed = _change(receipt["applicationId"], "routed", datetime.now(UTC), authority="A")
    for _ in range(2):
        async with runtime.db.transaction() as session:
            await record_changes(session, [routed], repeat=True)
    status = await _timeline(client, receipt)
    assert [e["status"] for e in status["timeline"]] == ["received", "routed"]  # type: ignore[attr-defined]
    assert status["status"] == "routed"


async def test_a_change_rolled_back_leaves_no_line(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    receipt = (
        await client.post(
            "/v1/applications",
            content=new_message((EXAMPLES / "hundeanmeldung.xml").read_bytes()),
            headers={"content-type": "application/xml"},
        )
    ).json()

    class Failed(Exception):
        pass

    try:
        async with runtime.db.transaction() as session:
            await record_changes(
                session, [_change(receipt["applicationId"], "routed", datetime.now(UTC))]
            )
            raise Failed
    except Failed:
        pass
    status = await _timeline(client, receipt)
    assert [e["status"] for e in status["timeline"]] == ["received"]  # type: ignore[attr-defined]
    assert status["status"] == "received"
