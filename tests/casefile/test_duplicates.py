"""Likely duplicates: the same applicant (names without case, date of birth), the same service,
the same authority, received at most 30 days before or after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from casefile import duplicates
from eantrag.runtime import Runtime
from tests.casefile.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    WOHNGELD,
    bearer,
    file_case,
    issue_token,
)

T0 = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def test_the_window_is_thirty_days_either_way_edges_included(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    clerk = (await issue_token(runtime.db, DRESDEN_ID)).token
    anna = {"family_name": "Krüger", "given_name": "Anna", "born": "1988-06-02"}
    case = await file_case(runtime, **anna, received_at=T0)
    edge_before = await file_case(runtime, **anna, received_at=T0 - 30 * DAY)
    edge_after = await file_case(
        runtime,
        family_name=" KRÜGER ",
        given_name="anna",
        born="1988-06-02",
        received_at=T0 + 30 * DAY,
    )
    # just outside, or someone else, or another service, or another authority
    await file_case(runtime, **anna, received_at=T0 - 30 * DAY - timedelta(seconds=1))
    just_after = await file_case(runtime, **anna, received_at=T0 + 30 * DAY + timedelta(seconds=1))
    await file_case(runtime, **{**anna, "born": "1988-06-03"}, received_at=T0)
    await file_case(runtime, **{**anna, "given_name": "Anne"}, received_at=T0)
    await file_case(runtime, **anna, leika=WOHNGELD, received_at=T0)
    elsewhere = await file_case(runtime, LEIPZIG_ID, **anna, received_at=T0 + DAY)

    body = (await client.get(f"/v1/cases/{case.id}", headers=bearer(clerk))).json()
    found = body["likelyDuplicates"]
    assert [d["caseId"] for d in found] == [str(edge_before.id), str(edge_after.id)]
    assert found[0]["applicationId"] == str(edge_before.application_id)
    assert found[0]["fileReference"] and found[0]["status"] == "filed"
    assert found[0]["receivedAt"].startswith("2026-09-15T12:00:00")

    # seen from the other side, and never across authorities
    later = (await client.get(f"/v1/cases/{edge_after.id}", headers=bearer(clerk))).json()
    assert [d["caseId"] for d in later["likelyDuplicates"]] == [str(case.id), str(just_after.id)]
    async with runtime.db.sessionmaker() as session:
        assert await duplicates.likely_duplicates(session, elsewhere) == []


async def test_a_case_without_an_applicant_has_no_duplicates(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    clerk = (await issue_token(runtime.db, DRESDEN_ID)).token
    case = await file_case(runtime, received_at=T0)
    lone = (await client.get(f"/v1/cases/{case.id}", headers=bearer(clerk))).json()
    assert lone["likelyDuplicates"] == []
    case.applicant_key = None
    async with runtime.db.sessionmaker() as session:
        assert await duplicates.likely_duplicates(session, case) == []
