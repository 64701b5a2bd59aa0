"""Signing keys of the access tokens: ES256 (P-256) pairs kept in the database.

The newest key that is not retired signs. `eantrag keys rotate` makes a new one and retires the
old, which stays in the JWKS (and is still accepted) until the last token it signed has expired.
Private keys leave this module only as a signing key object; they are never logged or listed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.db import utcnow
from identity.portals.models import SigningKey

ALGORITHM = "ES256"


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey


def _new_key(now: datetime) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = secrets.token_urlsafe(12)
    jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    jwk.update(kid=kid, use="sig", alg=ALGORITHM)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(kid=kid, algorithm=ALGORITHM, private_pem=pem, public_jwk=jwk, created_at=now)


async def _current(session: AsyncSession) -> SigningKey | None:
    row: SigningKey | None = await session.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )
    return row


async def active(session: AsyncSession) -> ActiveKey:
    """The key to sign with; the first one is made on first use."""
    row = await _current(session)
    if row is None:
        row = _new_key(utcnow())
        session.add(row)
        await session.flush()
    private = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return ActiveKey(row.kid, private)


async def rotate(session: AsyncSession, token_lifetime: timedelta) -> tuple[str, list[str]]:
    """A new signing key; the ones signing until now are retired but verify for one token
    lifetime more. Returns the new kid and the retired ones."""
    now = utcnow()
    retiring = list(
        await session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None)))
    )
    for row in retiring:
        row.retired_at = now
        row.verify_until = now + token_lifetime
    new = _new_key(now)
    session.add(new)
    await session.flush()
    return new.kid, [row.kid for row in retiring]


async def public_jwks(session: AsyncSession) -> list[dict[str, Any]]:
    """Every public key a valid token can still carry the kid of, newest first."""
    rows = await session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.verify_until > utcnow()))
        .order_by(SigningKey.created_at.desc())
    )
    return [dict(row.public_jwk) for row in rows]


async def all_keys(session: AsyncSession) -> list[SigningKey]:
    return list(await session.scalars(select(SigningKey).order_by(SigningKey.created_at)))
