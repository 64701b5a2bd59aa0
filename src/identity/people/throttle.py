"""Failed logins are counted per account and per client address; past a limit, the key is
locked for a time that doubles with each further failure. The counts live in the database, so
every API replica sees the same ones, and an unknown username is counted like a known one (the
answer must not tell them apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.settings import Settings
from identity.people.models import LoginThrottle


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    lockout: timedelta
    lockout_max: timedelta
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            per_account=settings.login_max_failures_per_account,
            per_address=settings.login_max_failures_per_address,
            lockout=timedelta(seconds=settings.login_lockout_seconds),
            lockout_max=timedelta(seconds=settings.login_lockout_max_seconds),
            window=timedelta(seconds=settings.login_failure_window_seconds),
        )


def keys(username: str, address: str | None) -> dict[str, str]:
    found = {"account": f"account:{username.strip().lower()[:150]}"}
    if address:
        found["address"] = f"address:{address[:100]}"
    return found


async def locked_for(session: AsyncSession, keys: dict[str, str], now: datetime) -> int:
    """Seconds until every key may try again; 0 if none is locked."""
    rows = await session.scalars(
        select(LoginThrottle).where(LoginThrottle.key.in_(list(keys.values())))
    )
    wait = 0.0
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            wait = max(wait, (row.locked_until - now).total_seconds())
    return math.ceil(wait)


async def record_failure(
    session: AsyncSession, keys: dict[str, str], limits: Limits, now: datetime
) -> None:
    """Count one failure for each key (the caller holds a write transaction)."""
    # Forget series that are over, so that guessed usernames do not pile up rows.
    await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.first_failure_at < now - limits.window,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now),
        )
    )
    for kind, key in keys.items():
        limit = limits.per_account if kind == "account" else limits.per_address
        # Concurrent first failures of one key must not collide on its primary key.
        upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            upsert(LoginThrottle)
            .values(key=key, failures=0, first_failure_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = await session.scalar(
            select(LoginThrottle)
            .where(LoginThrottle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert row is not None
        if (
            row.failures
            and row.first_failure_at + limits.window < now
            and (row.locked_until is None or row.locked_until <= now)
        ):
            row.failures, row.first_failure_at, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit:
            doubling = min(row.failures - limit, 20)
            row.locked_until = now + min(limits.lockout * 2**doubling, limits.lockout_max)


async def clear_account(session: AsyncSession, keys: dict[str, str]) -> None:
    """A successful login forgets the account's failures (not the address's)."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys["account"]))
