"""A portal for tests that submit: a registered client and a token from the real endpoint."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from eantrag.db import Database
from identity.portals import service

EVERYWHERE = "send:region:DE"


async def register(db: Database, *scopes: str, name: str = "Testportal") -> tuple[str, str]:
    """A new portal client: (client id, secret)."""
    async with db.transaction() as session:
        new = service.create_client(session, name, list(scopes or (EVERYWHERE,)))
    return new.row.client_id, new.secret


async def token_for(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def portal_token(client: httpx.AsyncClient, db: Database, *scopes: str) -> str:
    """An access token of a new portal with `scopes` (default: everywhere)."""
    return await token_for(client, *await register(db, *scopes))


class PortalAuth(httpx.Auth):
    """A portal's token on every submission that brings no Authorization of its own; other
    requests (clerk API, status URLs) go as they are."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if (
            request.method == "POST"
            and request.url.path == "/v1/applications"
            and "authorization" not in request.headers
        ):
            request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def as_portal(client: httpx.AsyncClient, db: Database, *scopes: str) -> httpx.AsyncClient:
    """`client`, from now on sending a portal's token with every submission."""
    client.auth = PortalAuth(await portal_token(client, db, *scopes))
    return client
