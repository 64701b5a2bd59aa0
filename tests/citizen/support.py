"""Helpers for the back-channel tests: submit an example, work its case as a clerk, read mail."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from citizen.models import Notification
from eantrag.db import Database
from tests.casefile.support import PIPELINE, bearer, status_of
from tests.conftest import EXAMPLES, new_message
from tests.routing.support import wait_for

WITH_NOTIFICATIONS = (*PIPELINE, "notifications")
DOG_OWNER = "thomas.richter@example.org"  # examples/hundeanmeldung.xml, halter/kontakt/email


async def submit(client: httpx.AsyncClient, example: str = "hundeanmeldung.xml") -> dict[str, Any]:
    response = await client.post(
        "/v1/applications",
        content=new_message((EXAMPLES / example).read_bytes()),
        headers={"content-type": "application/xml"},
    )
    assert response.status_code == 202, response.text
    receipt: dict[str, Any] = response.json()
    return receipt


async def wait_for_status(
    client: httpx.AsyncClient, receipt: dict[str, Any], status: str, within: float = 30
) -> dict[str, Any]:
    async def reached() -> bool:
        return bool((await status_of(client, receipt))["status"] == status)

    await wait_for(reached, within=within)
    return await status_of(client, receipt)


async def case_of(client: httpx.AsyncClient, token: str, receipt: dict[str, Any]) -> dict[str, Any]:
    inbox = (await client.get("/v1/cases", headers=bearer(token), params={"limit": 200})).json()
    mine = [c for c in inbox["items"] if c["applicationId"] == receipt["applicationId"]]
    assert len(mine) == 1
    detail: dict[str, Any] = (
        await client.get(f"/v1/cases/{mine[0]['id']}", headers=bearer(token))
    ).json()
    return detail


async def clerk_post(
    client: httpx.AsyncClient, token: str, case: dict[str, Any], path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"/v1/cases/{case['id']}/{path}", headers=bearer(token), json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def path_of(url: str) -> tuple[str, dict[str, str]]:
    parsed = httpx.URL(url)
    return parsed.path, dict(parsed.params)


async def notifications(db: Database, application_id: str) -> list[Notification]:
    async with db.sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(Notification)
                    .where(Notification.application_id == uuid.UUID(application_id))
                    .order_by(Notification.occurred_at)
                )
            ).all()
        )
