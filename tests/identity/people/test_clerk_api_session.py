"""The clerk API with a person's session: the person's authority only, CSRF on every write,
and every audit entry, note and transition names the person — not a shared token."""

from __future__ import annotations

import httpx
import pytest

from eantrag.runtime import Runtime
from tests.casefile.support import authority_message, bearer, file_directly, issue_token
from tests.identity.people.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    login,
    make_user,
    page_token,
)
from tests.routing.support import WOHNGELD

pytestmark = pytest.mark.usefixtures("directory")


async def _logged_in(client: httpx.AsyncClient, runtime: Runtime, username: str, **kw: str) -> str:
    """Log in through the form; return the session's CSRF token as the pages carry it."""
    await make_user(runtime.db, username, **kw)  # type: ignore[arg-type]
    assert (await login(client, username)).status_code == 303
    return page_token((await client.get("/konto")).text)


async def test_a_session_of_one_authority_cannot_read_another_s_case(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    own = await file_directly(runtime, await authority_message(runtime.blobs, DRESDEN_ID))
    other = await file_directly(
        runtime, await authority_message(runtime.blobs, LEIPZIG_ID, leika=WOHNGELD)
    )
    await _logged_in(client, runtime, "anna", authority_id=DRESDEN_ID)
    inbox = (await client.get("/v1/cases")).json()
    assert [c["id"] for c in inbox["items"]] == [str(own.id)]
    assert (await client.get(f"/v1/cases/{own.id}")).status_code == 200
    foreign = await client.get(f"/v1/cases/{other.id}")
    assert foreign.status_code == 404
    assert foreign.headers["content-type"].startswith("application/problem+json")
    assert LEIPZIG_ID not in foreign.text
    assert (await client.get(f"/v1/cases/{other.id}/audit")).status_code == 404


async def test_writes_from_a_session_need_the_csrf_token(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    case = await file_directly(runtime, await authority_message(runtime.blobs, DRESDEN_ID))
    token = await _logged_in(client, runtime, "anna")
    note = {"text": "Rückfrage an die Halterin"}
    missing = await client.post(f"/v1/cases/{case.id}/notes", json=note)
    assert missing.status_code == 403 and missing.json()["code"] == "identity.csrf"
    wrong = await client.post(
        f"/v1/cases/{case.id}/notes", json=note, headers={"X-CSRF-Token": "x" * 43}
    )
    assert wrong.status_code == 403
    transition = await client.post(f"/v1/cases/{case.id}/transitions", json={"to": "in_progress"})
    assert transition.status_code == 403
    trail = (await client.get(f"/v1/cases/{case.id}/audit")).json()
    assert [e["action"] for e in trail["entries"]] == ["filed"]  # nothing was written
    ok = await client.post(f"/v1/cases/{case.id}/notes", json=note, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201


async def test_audit_entries_name_the_person(client: httpx.AsyncClient, runtime: Runtime) -> None:
    case = await file_directly(runtime, await authority_message(runtime.blobs, DRESDEN_ID))
    user = await make_user(runtime.db, "anna", name="Anna Beispiel")
    assert (await login(client, "anna")).status_code == 303
    csrf = {"X-CSRF-Token": page_token((await client.get("/konto")).text)}
    moved = await client.post(
        f"/v1/cases/{case.id}/transitions", json={"to": "in_progress"}, headers=csrf
    )
    assert moved.status_code == 200
    await client.post(f"/v1/cases/{case.id}/notes", json={"text": "geprüft"}, headers=csrf)
    original = next(d for d in moved.json()["documents"] if d["kind"] == "original")
    assert (await client.get(original["href"])).status_code == 200

    trail = (await client.get(f"/v1/cases/{case.id}/audit")).json()
    assert trail["verified"] is True
    filed = trail["entries"][0]
    assert (filed["actorKind"], filed["actorId"]) == ("system", "casefile")
    by_person = [e for e in trail["entries"] if e["action"] != "filed"]
    assert [e["action"] for e in by_person] == ["transition", "note", "document.read"]
    for entry in by_person:
        assert entry["actorKind"] == "person"
        assert entry["actorId"] == str(user.id)
        assert entry["actorName"] == "Anna Beispiel"
        assert entry["actor"] == f"person:{user.id} Anna Beispiel"


async def test_bearer_tokens_stay_for_machines_and_are_named_as_tokens(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    case = await file_directly(runtime, await authority_message(runtime.blobs, DRESDEN_ID))
    issued = await issue_token(runtime.db, DRESDEN_ID, name="Fachverfahren Hundesteuer")
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as m:
        note = await m.post(
            f"/v1/cases/{case.id}/notes", json={"text": "übernommen"}, headers=bearer(issued.token)
        )
    assert note.status_code == 201  # no CSRF for a bearer token: no cookie, no forgery
    entry = note.json()
    assert (entry["actorKind"], entry["actorId"], entry["actorName"]) == (
        "token",
        str(issued.row.id),
        "Fachverfahren Hundesteuer",
    )


async def test_roles_decide_what_a_session_may_use(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _logged_in(client, runtime, "archiv", role="archivist")
    assert (await client.get("/v1/cases")).status_code == 403
    assert (await client.get("/v1/triage")).status_code == 403
    await client.post("/logout", data={"csrf_token": page_token((await client.get("/konto")).text)})
    await _logged_in(client, runtime, "klaer", role="triage", authority_id=None)  # type: ignore[arg-type]
    assert (await client.get("/v1/triage")).status_code == 200
    assert (await client.get("/v1/cases")).status_code == 403
