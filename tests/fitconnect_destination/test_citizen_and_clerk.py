"""What the citizen and the clerk see of a FIT-Connect submission: its submission and case ids,
and the decrypted metadata as a document of the Vorgang."""

from __future__ import annotations

import httpx
import orjson

from eantrag.runtime import Runtime
from fitconnect_destination import repository
from fitconnect_destination.service import Destination, receive_pending
from intake.service import StatusTokens
from tests.casefile.support import LEIPZIG_ID, PIPELINE, bearer, cases, issue_token, status_of
from tests.fitconnect_destination.conftest import Zustelldienst
from tests.fitconnect_destination.test_exchange import send_wohngeld
from tests.routing.support import import_example, wait_for, workers


async def test_the_timeline_and_the_case_detail_name_the_submission_and_its_case(
    runtime: Runtime,
    client: httpx.AsyncClient,
    destination: Destination,
    zustelldienst: Zustelldienst,
) -> None:
    await import_example(runtime.db)
    submission_id, case_id = await send_wohngeld(zustelldienst)
    await receive_pending(destination)
    async with runtime.db.sessionmaker() as session:
        row = await repository.get(session, submission_id)
    assert row is not None
    application_id = row["application_id"]
    tokens = StatusTokens(await runtime.secret("status-token"))
    receipt = {
        "statusUrl": f"http://testserver/v1/applications/{application_id}"
        f"?token={tokens.issue(application_id)}"
    }

    async def filed() -> bool:
        return (await status_of(client, receipt))["status"] == "filed"

    async with workers(runtime, *PIPELINE):
        await wait_for(filed, within=30)

    timeline = (await status_of(client, receipt))["timeline"]
    assert timeline[0]["status"] == "received"
    assert timeline[0]["detail"]["fitconnect"] == {"submissionId": submission_id, "caseId": case_id}

    (vorgang,) = await cases(runtime.db, LEIPZIG_ID)
    token = (await issue_token(runtime.db, LEIPZIG_ID)).token
    detail = (await client.get(f"/v1/cases/{vorgang.id}", headers=bearer(token))).json()
    assert detail["references"] == {
        "fitconnect": {"submissionId": submission_id, "caseId": case_id}
    }
    (metadata_doc,) = [
        d for d in detail["documents"] if d["filename"] == "fitconnect-metadata.json"
    ]
    content = await client.get(metadata_doc["href"], headers=bearer(token))
    assert content.status_code == 200
    metadata = orjson.loads(content.content)
    assert metadata["publicServiceType"]["identifier"] == vorgang.leika_urn
    assert metadata["contentStructure"]["data"]["hash"]["type"] == "sha512"
