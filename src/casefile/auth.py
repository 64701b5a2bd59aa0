"""Bearer tokens of the clerk API: one authority each, a role, an optional expiry.

A token is shown once when it is made; the database keeps only its SHA-256, which is also how a
request's token is looked up (the token has 256 random bits, so the hash is as good as a key).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casefile.errors import Forbidden, Unauthorized
from casefile.models import ApiToken
from eantrag.db import utcnow
from eantrag.runtime import Runtime

Role = Literal["clerk", "triage"]
ROLES: tuple[Role, ...] = ("clerk", "triage")
TOKEN_PREFIX = "eak_"

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="clerkToken",
    description="A clerk token (`eantrag token create`), scoped to one authority.",
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    token_id: uuid.UUID
    name: str
    authority_id: str | None
    role: str

    @property
    def scope(self) -> str:
        """The authority whose cases this token may see."""
        if self.authority_id is None:
            raise Forbidden("this token belongs to no authority")
        return self.authority_id

    @property
    def actor(self) -> str:
        """How the audit trail names who acted."""
        return f"{self.role}:{self.name} [{self.token_id}]"


@dataclass(frozen=True)
class IssuedToken:
    row: ApiToken
    token: str


def issue(
    session: AsyncSession,
    *,
    name: str,
    authority_id: str | None,
    role: Role,
    expires_in_days: int | None = None,
) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        id=uuid.uuid4(),
        token_hash=hash_token(token),
        name=name,
        authority_id=authority_id,
        role=role,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    return IssuedToken(row, token)


async def revoke(session: AsyncSession, token_id: uuid.UUID) -> ApiToken | None:
    row = await session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


async def all_tokens(session: AsyncSession) -> list[ApiToken]:
    return list(await session.scalars(select(ApiToken).order_by(ApiToken.created_at)))


async def authenticate(session: AsyncSession, token: str) -> Principal:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthorized("the bearer token is malformed", token_given=True)
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        raise Unauthorized("the bearer token is not known", token_given=True)
    if row.revoked_at is not None:
        raise Unauthorized("the bearer token was revoked", token_given=True)
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise Unauthorized("the bearer token has expired", token_given=True)
    return Principal(row.id, row.name, row.authority_id, row.role)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        given = "authorization" in request.headers
        raise Unauthorized(
            "send `Authorization: Bearer <token>`"
            if not given
            else "the Authorization header is not a bearer token",
            token_given=given,
        )
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.sessionmaker() as session:
        return await authenticate(session, credentials.credentials)


async def clerk(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role != "clerk" or who.authority_id is None:
        raise Forbidden("this endpoint needs a clerk token")
    return who


async def triage_clerk(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role != "triage":
        raise Forbidden("this endpoint needs a triage token")
    return who


Clerk = Annotated[Principal, Depends(clerk)]
TriageClerk = Annotated[Principal, Depends(triage_clerk)]
