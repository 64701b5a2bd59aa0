"""Accounts for `eantrag demo`: a clerk per authority of the directory, a triage clerk and an
archivist, each with a fresh random password on every run (printed once, stored as argon2id)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from identity.people import directory, service

ARCHIVE_AUTHORITY = "stadt-dresden"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    name: str
    role: str
    authority_id: str | None
    password: str


def _plan(authorities: dict[str, str]) -> list[tuple[str, str, str, str | None]]:
    plan: list[tuple[str, str, str, str | None]] = [
        (f"sb.{authority_id}", f"Sachbearbeitung {name}", "clerk", authority_id)
        for authority_id, name in authorities.items()
    ]
    plan.append(("klaerstelle", "Klärstelle (Demo)", "triage", None))
    archive = ARCHIVE_AUTHORITY if ARCHIVE_AUTHORITY in authorities else next(iter(authorities))
    plan.append(("archiv", f"Archivierung {authorities[archive]}", "archivist", archive))
    return plan


async def demo_accounts(session: AsyncSession) -> list[DemoAccount]:
    """Create the demo accounts, or give the existing ones a new password."""
    authorities = await directory.authorities(session)
    if not authorities:
        return []
    accounts = []
    for username, name, role, authority_id in _plan(authorities):
        password = secrets.token_urlsafe(12)
        if await service.user_by_name(session, username) is None:
            await service.create_user(
                session,
                username=username,
                role=role,
                authority_id=authority_id,
                display_name=name,
                password=password,
            )
        else:
            await service.set_password(session, username, password)
        accounts.append(DemoAccount(username, name, role, authority_id, password))
    return accounts
