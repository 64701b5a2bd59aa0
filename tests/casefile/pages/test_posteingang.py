"""The Posteingang as a browser without JavaScript uses it: plain links, GET forms, POST forms
with the CSRF token and a redirect back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from casefile.models import Akte, Vorgang
from eantrag.runtime import Runtime
from tests.casefile.support import file_case
from tests.identity.people.support import DRESDEN_ID, LEIPZIG_ID, form_token, login, make_user
from tests.routing.support import WOHNGELD

pytestmark = pytest.mark.usefixtures("directory")
ROW = re.compile(r'<tr class="kern-table__row" data-case="([0-9a-f-]{36})">')


def listed(html: str) -> list[str]:
    return ROW.findall(html)


async def reference(runtime: Runtime, case: Vorgang) -> str:
    async with runtime.db.sessionmaker() as session:
        found = await session.scalar(select(Akte.aktenzeichen).where(Akte.id == case.akte_id))
    assert found is not None
    return found


async def clerk(
    client: httpx.AsyncClient, runtime: Runtime, username: str = "anna", **kw: str
) -> None:
    await make_user(runtime.db, username, **kw)  # type: ignore[arg-type]
    response = await login(client, username)
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_the_posteingang_lists_the_authority_s_cases_newest_first(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    now = datetime.now(UTC)
    old = await file_case(runtime, family_name="Älter", received_at=now - timedelta(days=3))
    new = await file_case(runtime, family_name="Neuer", received_at=now - timedelta(hours=1))
    foreign = await file_case(runtime, LEIPZIG_ID, family_name="Fremd")
    await clerk(client, runtime)
    page = await client.get("/")
    assert page.status_code == 200
    assert listed(page.text) == [str(new.id), str(old.id)]
    assert str(foreign.id) not in page.text and "Fremd" not in page.text
    assert "Neuer, Erika" in page.text or "Erika Neuer" in page.text
    assert 'Eingegangen <span class="eantrag-count">(2)</span>' in page.text
    assert 'data-testid="posteingang"' in page.text and 'scope="col"' in page.text


async def test_search_filters_and_pages(client: httpx.AsyncClient, runtime: Runtime) -> None:
    now = datetime.now(UTC)
    krause = await file_case(runtime, family_name="Krause", received_at=now - timedelta(days=10))
    meier = await file_case(
        runtime, family_name="Meier", leika=WOHNGELD, received_at=now - timedelta(days=1)
    )
    await clerk(client, runtime)
    found = await client.get("/", params={"suche": "kraus"})
    assert listed(found.text) == [str(krause.id)]
    by_reference = await client.get("/", params={"suche": await reference(runtime, meier)})
    assert listed(by_reference.text) == [str(meier.id)]
    by_id = await client.get("/", params={"suche": str(krause.application_id)})
    assert listed(by_id.text) == [str(krause.id)]
    by_service = await client.get("/", params={"dienst": WOHNGELD})
    assert listed(by_service.text) == [str(meier.id)]
    since = (now - timedelta(days=2)).astimezone(UTC).date().isoformat()
    recent = await client.get("/", params={"von": since})
    assert listed(recent.text) == [str(meier.id)]
    bad = await client.get("/", params={"von": "gestern"})
    assert bad.status_code == 400
    assert "„gestern“ ist kein Datum" in bad.text
    assert len(listed(bad.text)) == 2  # the unusable filter is left out, nothing else changes

    for n in range(26):
        await file_case(
            runtime, family_name=f"Reihe{n}", received_at=now - timedelta(days=20, minutes=n)
        )
    first = await client.get("/")
    assert len(listed(first.text)) == 25
    more = re.search(r'href="(/\?[^"]*weiter=[^"]+)" rel="next"', first.text)
    assert more is not None
    second = await client.get(more.group(1).replace("&amp;", "&"))
    rest = listed(second.text)
    assert len(rest) == 3 and not set(rest) & set(listed(first.text))
    broken = await client.get("/", params={"weiter": "kaputt"})
    assert broken.status_code == 400 and "nächste Seite ist ungültig" in broken.text


async def test_assign_to_me_and_release_one_and_a_selection(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await file_case(runtime, family_name="Alpha")
    b = await file_case(runtime, family_name="Beta")
    c = await file_case(runtime, family_name="Gamma")
    foreign = await file_case(runtime, LEIPZIG_ID, family_name="Fremd")
    await clerk(client, runtime)
    page = await client.get("/")
    token = form_token(page.text, "/cases/assign")

    one = await client.post(f"/cases/{a.id}/assign", data={"csrf_token": token, "zurueck": "/"})
    assert one.status_code == 303
    mine = await client.get(one.headers["location"])
    assert "1 Vorgang wurde Ihnen zugewiesen." in mine.text
    only_mine = await client.get("/", params={"zuweisung": "mir"})
    assert listed(only_mine.text) == [str(a.id)]

    bulk = await client.post(
        "/cases/assign",
        data={
            "csrf_token": token,
            "aktion": "assign",
            "case_id": [str(a.id), str(b.id), str(foreign.id)],
            "zurueck": "/?zuweisung=mir",
        },
    )
    assert bulk.status_code == 303 and bulk.headers["location"].startswith("/?zuweisung=mir&")
    after = await client.get(bulk.headers["location"])
    assert "1 Vorgang wurde Ihnen zugewiesen." in after.text
    assert "1 Vorgang war schon so." in after.text
    assert "1 Vorgang wurde nicht gefunden." in after.text
    assert set(listed(after.text)) == {str(a.id), str(b.id)}
    free = await client.get("/", params={"zuweisung": "niemand"})
    assert listed(free.text) == [str(c.id)]

    released = await client.post(
        "/cases/assign",
        data={"csrf_token": token, "aktion": "release", "case_id": [str(a.id), str(b.id)]},
    )
    assert "2 Vorgänge wurden freigegeben." in (await client.get(released.headers["location"])).text
    assert listed((await client.get("/", params={"zuweisung": "mir"})).text) == []

    forged = await client.post(f"/cases/{c.id}/assign", data={"zurueck": "/"})
    assert forged.status_code == 403
    assert listed((await client.get("/", params={"zuweisung": "mir"})).text) == []
    nothing = await client.post("/cases/assign", data={"csrf_token": token, "aktion": "assign"})
    assert nothing.status_code == 400 and "mindestens einen Vorgang" in nothing.text


async def test_only_clerks_work_here(client: httpx.AsyncClient, runtime: Runtime) -> None:
    anonymous = await client.get("/")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    await make_user(runtime.db, "klaer", role="triage", authority_id=None)  # type: ignore[arg-type]
    await login(client, "klaer")
    assert (await client.get("/")).headers["location"] == "/triage"
    case = await file_case(runtime, DRESDEN_ID)
    assert (await client.get(f"/cases/{case.id}")).status_code == 403
