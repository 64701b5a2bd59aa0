"""The Posteingang through the clerk API: filters, search, counts per status and keyset pages,
on the embedded default and on PostgreSQL; another authority's cases never appear."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from casefile import inbox
from casefile.models import Vorgang
from eantrag.runtime import Runtime
from routing.models import Service
from tests.casefile.support import (
    DOG,
    DRESDEN_ID,
    LEIPZIG_ID,
    WOHNGELD,
    bearer,
    file_case,
    issue_token,
)

PROBLEM = "application/problem+json"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def listing(client: httpx.AsyncClient, token: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/cases", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


@pytest.fixture
async def clerk(runtime: Runtime) -> str:
    return (await issue_token(runtime.db, DRESDEN_ID)).token


async def test_a_row_names_the_service_applicant_file_reference_and_assignee(
    client: httpx.AsyncClient, runtime: Runtime, clerk: str
) -> None:
    async with runtime.db.transaction() as session:
        session.add(Service(leika_key=DOG, name="Hundesteuer – Anmeldung eines Hundes"))
    dog = await file_case(runtime, family_name="Krüger", given_name="Anna", received_at=T0)
    wohngeld = await file_case(runtime, leika=WOHNGELD, received_at=T0 + timedelta(hours=1))
    body = await listing(client, clerk)
    assert ids(body) == [str(wohngeld.id), str(dog.id)]
    row = body["items"][1]
    assert row["serviceName"] == "Hundesteuer – Anmeldung eines Hundes"
    assert row["service"] == f"urn:de:fim:leika:leistung:{DOG}"
    assert row["applicantName"] == "Krüger, Anna"
    assert row["fileReference"].endswith("-1") or row["fileReference"].endswith("-2")
    assert row["receivedAt"].startswith("2026-11-02T09:00:00")
    assert row["status"] == "filed" and row["assignee"] is None
    assert body["items"][0]["serviceName"] is None  # not in the directory


async def test_filters_narrow_the_list_and_counts_follow_every_filter_but_status(
    client: httpx.AsyncClient, runtime: Runtime, clerk: str
) -> None:
    headers = bearer(clerk)
    dogs = [await file_case(runtime, received_at=T0 + timedelta(days=n)) for n in range(4)]
    wohngeld = [
        await file_case(runtime, leika=WOHNGELD, received_at=T0 + timedelta(days=10 + n))
        for n in range(2)
    ]
    await file_case(runtime, LEIPZIG_ID, received_at=T0)  # never seen, never counted
    for case in dogs[:2]:
        moved = await client.post(
            f"/v1/cases/{case.id}/transitions", json={"to": "in_progress"}, headers=headers
        )
        assert moved.status_code == 200, moved.text
    assert (await client.post(f"/v1/cases/{dogs[0].id}/assign", headers=headers)).is_success
    assert (await client.post(f"/v1/cases/{wohngeld[1].id}/assign", headers=headers)).is_success

    every = await listing(client, clerk)
    assert ids(every) == [str(c.id) for c in reversed(dogs + wohngeld)]
    assert every["counts"] == {
        "filed": 4,
        "in_progress": 2,
        "on_hold": 0,
        "decided": 0,
        "closed": 0,
        "archived": 0,
        "destroyed": 0,
    }
    progress = await listing(client, clerk, status="in_progress")
    assert ids(progress) == [str(dogs[1].id), str(dogs[0].id)]
    assert progress["counts"] == every["counts"]  # the status filter does not change counts

    by_service = await listing(client, clerk, service=WOHNGELD)
    assert ids(by_service) == [str(wohngeld[1].id), str(wohngeld[0].id)]
    assert by_service["counts"]["filed"] == 2 and by_service["counts"]["in_progress"] == 0

    window = await listing(
        client,
        clerk,
        receivedFrom=(T0 + timedelta(days=1)).isoformat(),
        receivedTo=(T0 + timedelta(days=3)).isoformat(),
    )
    assert ids(window) == [str(dogs[2].id), str(dogs[1].id)]  # from inclusive, to exclusive
    assert window["counts"]["filed"] == 1 and window["counts"]["in_progress"] == 1

    mine = await listing(client, clerk, assigned="me")
    assert ids(mine) == [str(wohngeld[1].id), str(dogs[0].id)]
    assert mine["counts"]["in_progress"] == 1 and mine["counts"]["filed"] == 1
    assert mine["items"][0]["assignee"]["name"] == "Erika Muster"
    nobody = await listing(client, clerk, assigned="none")
    assert ids(nobody) == [str(c.id) for c in (wohngeld[0], dogs[3], dogs[2], dogs[1])]
    # a colleague's "mine" is not mine
    colleague = (await issue_token(runtime.db, DRESDEN_ID, name="Max Mustermann")).token
    assert ids(await listing(client, colleague, assigned="me")) == []

    combined = await listing(client, clerk, status="filed", assigned="none", service=DOG)
    assert ids(combined) == [str(dogs[3].id), str(dogs[2].id)]


async def test_search_by_name_part_file_reference_or_id_in_any_case(
    client: httpx.AsyncClient, runtime: Runtime, clerk: str
) -> None:
    anna = await file_case(runtime, family_name="Krüger", given_name="Anna", received_at=T0)
    weiss = await file_case(
        runtime, family_name="Weiß", given_name="Jörg", received_at=T0 + timedelta(hours=1)
    )
    other = await file_case(
        runtime, family_name="Kruse", given_name="Paul", received_at=T0 + timedelta(hours=2)
    )
    stranger = await file_case(runtime, LEIPZIG_ID, family_name="Krüger", given_name="Anna")

    async def found(q: str) -> list[str]:
        return ids(await listing(client, clerk, q=q))

    assert await found("krü") == [str(anna.id)]
    assert await found("KRÜGER") == [str(anna.id)]
    assert await found("anna krüger") == [str(anna.id)]
    assert await found("Krüger, Anna") == [str(anna.id)]
    assert await found("  ger  an ") == [str(anna.id)]
    assert await found("weiss") == [str(weiss.id)]  # ß case-folds to ss
    assert await found("WEISS") == [str(weiss.id)]
    assert await found("kr") == [str(other.id), str(anna.id)]
    # one or two characters: the start of a word only
    assert await found("an") == [str(anna.id)]
    assert await found("J") == [str(weiss.id)]
    assert await found("rü") == []
    assert await found("%") == [] and await found("_") == []  # no wildcards
    assert await found("anna anna") == []  # never across two parts of the key
    assert await found("\x00krüger\tanna\x00") == [str(anna.id)]  # control characters: blanks
    counted = await listing(client, clerk, q="kr")
    assert counted["counts"]["filed"] == 2

    detail = (await client.get(f"/v1/cases/{weiss.id}", headers=bearer(clerk))).json()
    reference = detail["fileReference"]
    assert await found(reference) == [str(weiss.id)]
    assert await found(reference.lower()) == [str(weiss.id)]
    assert await found(str(anna.application_id)) == [str(anna.id)]
    assert await found(str(anna.id).upper()) == [str(anna.id)]
    # another authority's applicant and ids are not found
    assert await found(str(stranger.application_id)) == []
    assert await found(str(uuid.uuid4())) == []
    # a blank search is no search
    assert len(await found("   ")) == 3
    too_long = await client.get("/v1/cases", params={"q": "x" * 201}, headers=bearer(clerk))
    assert too_long.status_code == 422
    assert too_long.headers["content-type"] == PROBLEM


async def test_pages_have_no_gaps_or_repeats_while_cases_arrive(
    client: httpx.AsyncClient, runtime: Runtime, clerk: str
) -> None:
    existing = [await file_case(runtime, received_at=T0 + timedelta(minutes=n)) for n in range(9)]
    # two cases with the same received time: the id breaks the tie
    twins = [await file_case(runtime, received_at=T0 + timedelta(minutes=4)) for _ in range(2)]
    before = {str(c.id) for c in existing + twins}
    seen: list[str] = []
    received: list[tuple[str, str]] = []
    arrived: list[Vorgang] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = await listing(client, clerk, **params)
        seen += ids(body)
        received += [(item["receivedAt"], item["id"]) for item in body["items"]]
        # meanwhile: a new case at the top, and one received earlier than everything
        arrived.append(await file_case(runtime))
        arrived.append(await file_case(runtime, received_at=T0 - timedelta(days=len(arrived))))
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a case was shown twice"
    assert before <= set(seen), "a case that existed before the first page was skipped"
    assert received == sorted(received, reverse=True)
    newer = {str(c.id) for c in arrived[::2]}
    assert not newer & set(seen), "cases received after the first page sit above it"


async def test_bad_queries_are_refused_with_a_problem(
    client: httpx.AsyncClient, clerk: str
) -> None:
    for bad in (
        {"cursor": "nonsense"},
        {"cursor": "WyIyMDI2LTExLTAyVDA5OjAwOjAwIiwiMSJd"},  # naive time, no uuid
        {"assigned": "someone"},
        {"status": "lost"},
        {"limit": "0"},
    ):
        response = await client.get("/v1/cases", params=bad, headers=bearer(clerk))
        assert response.status_code in (400, 422), (bad, response.text)
        assert response.headers["content-type"] == PROBLEM


async def test_the_service_filter_offers_the_authority_s_services_by_name(
    runtime: Runtime,
) -> None:
    async with runtime.db.transaction() as session:
        session.add(Service(leika_key=WOHNGELD, name="Wohngeld – Mietzuschuss"))
    await file_case(runtime)
    await file_case(runtime, leika=WOHNGELD)
    await file_case(runtime, leika=WOHNGELD)
    await file_case(runtime, LEIPZIG_ID, leika="99050012104000")
    async with runtime.db.sessionmaker() as session:
        offered = await inbox.services(session, DRESDEN_ID)
    assert offered == [
        inbox.ServiceOption(WOHNGELD, "Wohngeld – Mietzuschuss"),
        inbox.ServiceOption(DOG, None),
    ]
