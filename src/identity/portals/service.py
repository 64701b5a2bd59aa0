"""Use cases of the portals: register, list and revoke clients; grant access tokens; decide
whether a sender may submit an application."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.db import utcnow
from identity.portals import keys, scopes
from identity.portals.errors import InsufficientScope, InvalidClient, InvalidScope
from identity.portals.models import PortalClient
from identity.portals.tokens import Sender, issue

CLIENT_ID_PREFIX = "portal-"
SECRET_PREFIX = "pcs_"

hasher = PasswordHasher()  # argon2id, the library's (RFC 9106 low-memory) parameters
# Unknown client ids are checked against this too, so that timing does not tell which exist.
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class NewClient:
    row: PortalClient
    secret: str


def create_client(session: AsyncSession, name: str, wanted: list[str]) -> NewClient:
    """A new portal; its secret exists only in the return value."""
    checked = [scopes.validate(s) for s in dict.fromkeys(wanted)]
    if not any(s.startswith(scopes.REGION) for s in checked):
        raise scopes.ScopeSyntaxError(
            "a portal needs at least one region scope, e.g. `send:region:DE14` (Sachsen) or "
            "`send:region:DE` (everywhere)"
        )
    if not name.strip() or len(name) > 200:
        raise ValueError("the name must be 1 to 200 characters")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = PortalClient(
        id=uuid.uuid4(),
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(8),
        name=name.strip(),
        secret_hash=hasher.hash(secret),
        scopes=checked,
        created_at=utcnow(),
    )
    session.add(row)
    return NewClient(row, secret)


async def all_clients(session: AsyncSession) -> list[PortalClient]:
    return list(await session.scalars(select(PortalClient).order_by(PortalClient.created_at)))


async def revoke_client(session: AsyncSession, client_id: str) -> PortalClient | None:
    row = await session.scalar(select(PortalClient).where(PortalClient.client_id == client_id))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


async def authenticate_client(session: AsyncSession, client_id: str, secret: str) -> PortalClient:
    """The active client with this id and secret, or InvalidClient (the same for every cause)."""
    row = None
    if client_id.startswith(CLIENT_ID_PREFIX) and len(client_id) <= 64 and len(secret) <= 200:
        row = await session.scalar(select(PortalClient).where(PortalClient.client_id == client_id))
    stored = row.secret_hash if row is not None else _DUMMY_HASH
    try:
        # ~50 ms of CPU and 64 MiB by design: not on the event loop.
        await asyncio.to_thread(hasher.verify, stored, secret)
    except (VerificationError, InvalidHashError):
        raise InvalidClient() from None
    if row is None or row.revoked_at is not None:
        raise InvalidClient()
    return row


@dataclass(frozen=True)
class GrantedToken:
    access_token: str
    expires_in: int
    scope: str


async def grant(
    session: AsyncSession,
    client: PortalClient,
    requested: str | None,
    *,
    issuer: str,
    audience: str,
    lifetime_seconds: int,
) -> GrantedToken:
    """An access token for the client's scopes, or the subset it asked for."""
    granted = list(client.scopes)
    if requested is not None and requested.strip():
        asked = list(dict.fromkeys(requested.split()))
        unknown = [s for s in asked if s not in granted]
        if unknown:
            raise InvalidScope(f"not granted to this client: {' '.join(unknown)}")
        granted = asked
    key = await keys.active(session)
    token = issue(
        key,
        client_id=client.client_id,
        scopes=granted,
        issuer=issuer,
        audience=audience,
        lifetime_seconds=lifetime_seconds,
    )
    return GrantedToken(token, lifetime_seconds, " ".join(granted))


RegionLookup = Callable[[str | None, str | None], Awaitable[str | None]]
"""The port to the directory: (the applicant's ARS, postcode) → the ARS that decides the
authority, or None when it cannot be established. Provided by routing, wired by the app."""


async def authorize_submission(
    sender: Sender,
    service_urn: str,
    ars: str | None,
    postcode: str | None,
    region_of: RegionLookup,
) -> None:
    """InsufficientScope unless the sender's scopes cover this application."""
    grant_ = sender.grant
    # `send:region:DE` covers every region, established or not: no look-up needed.
    region = None if grant_.everywhere else await region_of(ars, postcode)
    missing = grant_.missing(region, service_urn)
    if missing is None:
        return
    if missing.startswith(scopes.SERVICE):
        detail = f"this client may not send applications for {service_urn}"
    elif region is None:
        detail = (
            "the applicant's region (ARS) cannot be established from the application; "
            f"only `{scopes.EVERYWHERE}` covers it"
        )
    else:
        detail = (
            f"the applicant's region (ARS {region}) is not covered by this client's scopes "
            f"({' '.join(sender.scopes)})"
        )
    raise InsufficientScope(detail, missing_scope=missing)
