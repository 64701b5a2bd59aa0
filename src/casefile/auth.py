"""Who may use the clerk API: a logged-in person (session cookie) or a bearer token.

People log in at `/login` (identity.people); their session cookie works here too, and a request
that changes something must then carry the session's CSRF token (`X-CSRF-Token`). Bearer tokens
stay for machine consumers (Fachverfahren): one authority each, a role, an optional expiry. A
token is shown once when it is made; the database keeps only its SHA-256, which is also how a
request's token is looked up (the token has 256 random bits, so the hash is as good as a key).
Both become the same `Principal`, which names who acted in the audit trail.
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
from identity.people import csrf
from identity.people.principal import Principal
from identity.people.sessions import current_session, session_cookie

__all__ = ["Clerk", "Principal", "TriageClerk", "authenticate", "issue", "revoke"]

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
    return Principal(
        kind="token", id=str(row.id), name=row.name, authority_id=row.authority_id, role=row.role
    )


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> Principal:
    """The bearer token if one is sent, else the person's session (CSRF-checked for writes)."""
    if credentials is not None:
        runtime: Runtime = request.app.state.runtime
        async with runtime.db.sessionmaker() as session:
            return await authenticate(session, credentials.credentials)
    given = "authorization" in request.headers
    if cookie is not None and not given:
        active = await current_session(request)
        if active is None:
            raise Unauthorized("the session has ended; log in again", token_given=False)
        await csrf.check(request)
        return active.principal
    raise Unauthorized(
        "send `Authorization: Bearer <token>` or log in"
        if not given
        else "the Authorization header is not a bearer token",
        token_given=given,
    )


async def clerk(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role != "clerk" or who.authority_id is None:
        raise Forbidden("this endpoint needs the clerk role and an authority")
    return who


async def triage_clerk(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role != "triage":
        raise Forbidden("this endpoint needs the triage role")
    return who


Clerk = Annotated[Principal, Depends(clerk)]
TriageClerk = Annotated[Principal, Depends(triage_clerk)]
