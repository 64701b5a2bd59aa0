"""`eantrag client …` and `eantrag keys …` as an operator uses them."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest.mock import patch

import httpx
from typer.testing import CliRunner

from bootstrap.cli import app
from eantrag.runtime import Runtime
from identity.portals.models import PortalClient
from tests.conftest import EXAMPLES
from tests.identity.support import token_for


def _cli(url: str, *args: str) -> Any:
    with patch("eantrag.cli.configure_logging"):
        return CliRunner().invoke(app, list(args), env={"EANTRAG_DATABASE_URL": url})


async def cli(runtime: Runtime, *args: str) -> Any:
    return await asyncio.to_thread(_cli, runtime.db.url, *args)


async def test_a_portal_is_created_shown_once_listed_and_revoked(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    created = await cli(
        runtime, "client", "create", "Amt24 Sachsen", "--scope", "send:region:DE14", "--json"
    )
    assert created.exit_code == 0, created.output
    credentials = json.loads(created.stdout)
    assert set(credentials) == {"client_id", "client_secret"}
    async with runtime.db.sessionmaker() as session:
        stored = (
            (
                await session.execute(
                    PortalClient.__table__.select().where(PortalClient.name == "Amt24 Sachsen")
                )
            )
            .mappings()
            .all()
        )
    assert len(stored) == 1
    assert credentials["client_secret"] not in str(stored[0])  # only the argon2id hash
    assert stored[0]["secret_hash"].startswith("$argon2id$")

    token = await token_for(client, credentials["client_id"], credentials["client_secret"])
    submitted = await client.post(
        "/v1/applications",
        content=(EXAMPLES / "hundeanmeldung.xml").read_bytes(),
        headers={"content-type": "application/xml", "authorization": f"Bearer {token}"},
    )
    assert submitted.status_code == 202, submitted.text

    listed = await cli(runtime, "client", "list")
    assert listed.exit_code == 0
    assert credentials["client_id"] in listed.stdout and "send:region:DE14" in listed.stdout
    assert credentials["client_secret"] not in listed.stdout

    revoked = await cli(runtime, "client", "revoke", credentials["client_id"])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in (await cli(runtime, "client", "list")).stdout
    refused = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials["client_id"], credentials["client_secret"]),
    )
    assert refused.status_code == 401
    assert (await cli(runtime, "client", "revoke", "portal-nobody")).exit_code == 1


async def test_client_create_refuses_bad_scopes(runtime: Runtime) -> None:
    for bad in (
        ["--scope", "send:region:14"],
        ["--scope", "send:region:DE14x"],
        ["--scope", "send:region:DE1234567890123"],
        ["--scope", "send:service:99102013104000"],
        ["--scope", "admin"],
        ["--scope", f"send:service:urn:de:fim:leika:leistung:{'9' * 14}"],  # no region
        [],
    ):
        result = await cli(runtime, "client", "create", "Portal", *bad)
        assert result.exit_code == 2, (bad, result.output)
    async with runtime.db.sessionmaker() as session:
        names = (await session.execute(PortalClient.__table__.select())).mappings().all()
    assert "Portal" not in {row["name"] for row in names}


async def test_keys_rotate_and_list(client: httpx.AsyncClient, runtime: Runtime) -> None:
    before = (await client.get("/.well-known/jwks.json")).json()["keys"]
    rotated = await cli(runtime, "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    after = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert len(after) == len(before) + 1
    listed = await cli(runtime, "keys", "list")
    assert listed.exit_code == 0
    assert "signing" in listed.stdout and "retired" in listed.stdout
    assert "PRIVATE" not in listed.stdout + rotated.output
