"""Mir zuweisen / Freigeben, on one case and on a selection: audited per case, within the
clerk's own authority only, a result per case, safe when selections overlap."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import update

from casefile.models import Vorgang
from eantrag.runtime import Runtime
from tests.casefile.support import DRESDEN_ID, LEIPZIG_ID, bearer, cases, file_case, issue_token

PROBLEM = "application/problem+json"


async def trail(client: httpx.AsyncClient, token: str, case_id: uuid.UUID) -> dict[str, Any]:
    response = await client.get(f"/v1/cases/{case_id}/audit", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["verified"]
    return body


async def test_assign_take_over_and_release_one_case_each_audited(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    erika = await issue_token(runtime.db, DRESDEN_ID, name="Erika Muster")
    max_ = await issue_token(runtime.db, DRESDEN_ID, name="Max Mustermann")
    case = await file_case(runtime)
    url = f"/v1/cases/{case.id}"

    taken = await client.post(f"{url}/assign", headers=bearer(erika.token))
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"] == {"id": f"token:{erika.row.id}", "name": "Erika Muster"}
    assert taken.json()["assignedAt"] is not None
    again = await client.post(f"{url}/assign", headers=bearer(erika.token))
    assert again.json()["assignee"]["name"] == "Erika Muster"
    over = await client.post(f"{url}/assign", headers=bearer(max_.token))
    assert over.json()["assignee"]["name"] == "Max Mustermann"
    detail = (await client.get(url, headers=bearer(erika.token))).json()
    assert detail["assignee"]["name"] == "Max Mustermann"
    freed = await client.post(f"{url}/release", headers=bearer(erika.token))
    assert freed.status_code == 200 and freed.json()["assignee"] is None
    assert (await client.post(f"{url}/release", headers=bearer(erika.token))).status_code == 200

    entries = (await trail(client, erika.token, case.id))["entries"]
    assert [e["action"] for e in entries] == ["filed", "assigned", "assigned", "released"]
    assert entries[1]["oldValue"] == {"assignee": None}
    assert entries[2]["oldValue"]["assignee"]["name"] == "Erika Muster"
    assert entries[2]["newValue"]["assignee"]["name"] == "Max Mustermann"
    assert entries[2]["actor"].endswith("Max Mustermann")
    assert entries[3]["oldValue"]["assignee"]["name"] == "Max Mustermann"
    assert entries[3]["actor"].endswith("Erika Muster")


async def test_another_authority_s_case_is_never_assigned_or_released(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    clerk = (await issue_token(runtime.db, DRESDEN_ID)).token
    leipzig = (await issue_token(runtime.db, LEIPZIG_ID)).token
    theirs = await file_case(runtime, LEIPZIG_ID)
    assert (await client.post(f"/v1/cases/{theirs.id}/assign", headers=bearer(leipzig))).is_success
    for action in ("assign", "release"):
        one = await client.post(f"/v1/cases/{theirs.id}/{action}", headers=bearer(clerk))
        assert one.status_code == 404 and one.headers["content-type"] == PROBLEM
        many = await client.post(
            f"/v1/cases/{action}", json={"caseIds": [str(theirs.id)]}, headers=bearer(clerk)
        )
        assert many.status_code == 200
        assert many.json()["results"] == [
            {"caseId": str(theirs.id), "outcome": "not_found", "case": None}
        ]
    (stored,) = await cases(runtime.db, LEIPZIG_ID)
    assert stored.assignee_name == "Erika Muster" and stored.authority_id == LEIPZIG_ID
    entries = (await trail(client, leipzig, theirs.id))["entries"]
    assert [e["action"] for e in entries] == ["filed", "assigned"]


async def test_a_selection_gets_a_result_per_case_and_commits_the_changes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    clerk = await issue_token(runtime.db, DRESDEN_ID)
    colleague = (await issue_token(runtime.db, DRESDEN_ID, name="Max Mustermann")).token
    own = [await file_case(runtime) for _ in range(4)]
    theirs = await file_case(runtime, LEIPZIG_ID)
    archived = own[3]
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Vorgang).where(Vorgang.id == archived.id).values(status="archived")
        )
    assert (
        await client.post(f"/v1/cases/{own[1].id}/assign", headers=bearer(colleague))
    ).is_success
    assert (
        await client.post(f"/v1/cases/{own[2].id}/assign", headers=bearer(clerk.token))
    ).is_success
    unknown = uuid.uuid4()
    selection = [own[0].id, own[1].id, own[2].id, archived.id, theirs.id, unknown, own[0].id]

    response = await client.post(
        "/v1/cases/assign",
        json={"caseIds": [str(i) for i in selection]},
        headers=bearer(clerk.token),
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["caseId"], r["outcome"]) for r in results] == [
        (str(own[0].id), "assigned"),
        (str(own[1].id), "assigned"),  # taken over from the colleague
        (str(own[2].id), "unchanged"),
        (str(archived.id), "not_assignable"),
        (str(theirs.id), "not_found"),
        (str(unknown), "not_found"),
    ]
    assert results[1]["case"]["assignee"]["id"] == f"token:{clerk.row.id}"
    mine = (
        await client.get("/v1/cases", params={"assigned": "me"}, headers=bearer(clerk.token))
    ).json()
    assert {item["id"] for item in mine["items"]} == {str(c.id) for c in own[:3]}

    released = await client.post(
        "/v1/cases/release",
        json={"caseIds": [str(c.id) for c in own]},
        headers=bearer(clerk.token),
    )
    assert [r["outcome"] for r in released.json()["results"]] == [
        "released",
        "released",
        "released",
        "unchanged",
    ]
    for case, actions in (
        (own[0], ["filed", "assigned", "released"]),
        (own[1], ["filed", "assigned", "assigned", "released"]),
        (own[2], ["filed", "assigned", "released"]),
        (archived, ["filed"]),
    ):
        entries = (await trail(client, clerk.token, case.id))["entries"]
        assert [e["action"] for e in entries] == actions, case.id


async def test_an_archived_case_cannot_be_assigned_and_selections_are_bounded(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    clerk = (await issue_token(runtime.db, DRESDEN_ID)).token
    case = await file_case(runtime)
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Vorgang).where(Vorgang.id == case.id).values(status="destroyed")
        )
    refused = await client.post(f"/v1/cases/{case.id}/assign", headers=bearer(clerk))
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "casefile.case_not_assignable"
    for body in (
        {"caseIds": []},
        {"caseIds": [str(uuid.uuid4()) for _ in range(201)]},
        {"caseIds": ["not-a-uuid"]},
        {"caseIds": [str(case.id)], "assignee": "someone"},
    ):
        response = await client.post("/v1/cases/assign", json=body, headers=bearer(clerk))
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM
    (stored,) = await cases(runtime.db, DRESDEN_ID)
    assert stored.assignee_id is None


async def test_overlapping_selections_at_the_same_time_both_finish(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    erika = (await issue_token(runtime.db, DRESDEN_ID)).token
    max_ = (await issue_token(runtime.db, DRESDEN_ID, name="Max Mustermann")).token
    own = [await file_case(runtime) for _ in range(12)]
    forward = [str(c.id) for c in own]

    async def select(token: str, ids: list[str]) -> httpx.Response:
        return await client.post("/v1/cases/assign", json={"caseIds": ids}, headers=bearer(token))

    first, second = await asyncio.gather(
        select(erika, forward), select(max_, list(reversed(forward)))
    )
    assert first.status_code == second.status_code == 200
    stored = {c.id: c for c in await cases(runtime.db, DRESDEN_ID)}
    assert {stored[c.id].assignee_name for c in own} <= {"Erika Muster", "Max Mustermann"}
    assert len({stored[c.id].assignee_name for c in own}) == 1  # one request after the other
    for case in own:
        entries = (await trail(client, erika, case.id))["entries"]
        assert [e["action"] for e in entries] == ["filed", "assigned", "assigned"]
