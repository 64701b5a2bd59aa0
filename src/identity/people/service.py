"""Use cases of people's accounts: create, list, disable, set a password, log in, sessions.

Nothing here commits; the CLI command or the request owns the transaction. A failed login is an
outcome, not an exception, so that the edge commits the counted failure.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.db import utcnow
from eantrag.settings import Settings
from identity.people import directory, passwords, throttle
from identity.people.errors import AccountError, UnknownAuthority
from identity.people.models import PersonSession, User
from identity.people.principal import ROLES, Principal

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,99}")
NEEDS_AUTHORITY = {"clerk", "archivist"}
TOUCH_EVERY = timedelta(seconds=60)


def normal_username(username: str) -> str:
    return username.strip().lower()


async def _check_authority(
    session: AsyncSession, role: str, authority_id: str | None
) -> str | None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if authority_id is None:
        if role in NEEDS_AUTHORITY:
            raise AccountError(f"a {role} needs an authority (--authority)")
        return None
    known = await directory.authorities(session)
    if authority_id not in known:
        raise UnknownAuthority(authority_id, sorted(known))
    return known[authority_id]


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    role: str,
    authority_id: str | None,
    display_name: str | None,
    password: str,
) -> User:
    name = normal_username(username)
    if not USERNAME.fullmatch(name):
        raise AccountError(
            "a username has 1–100 characters: letters, digits and . _ @ - "
            "(it starts with a letter or digit)"
        )
    await _check_authority(session, role, authority_id)
    if await user_by_name(session, name) is not None:
        raise AccountError(f"the username {name!r} is taken")
    try:
        password_hash = passwords.hash_password(password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from exc
    user = User(
        id=uuid.uuid4(),
        username=name,
        display_name=(display_name or name).strip()[:200],
        authority_id=authority_id,
        role=role,
        password_hash=password_hash,
        created_at=utcnow(),
    )
    session.add(user)
    await session.flush()
    return user


async def user_by_name(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == normal_username(username)))


async def all_users(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).order_by(User.authority_id, User.username)))


async def _existing(session: AsyncSession, username: str) -> User:
    user = await user_by_name(session, username)
    if user is None:
        raise AccountError(f"no user {normal_username(username)!r}")
    return user


async def disable(session: AsyncSession, username: str) -> User:
    """Disable an account and end its sessions at once."""
    user = await _existing(session, username)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    await session.execute(delete(PersonSession).where(PersonSession.user_id == user.id))
    return user


async def set_password(session: AsyncSession, username: str, password: str) -> User:
    """A new password; every session of the account ends."""
    user = await _existing(session, username)
    if user.issuer is not None:
        raise AccountError(f"{user.username!r} logs in at the OIDC provider; it has no password")
    try:
        user.password_hash = passwords.hash_password(password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from exc
    await session.execute(delete(PersonSession).where(PersonSession.user_id == user.id))
    return user


# --- logging in --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    retry_after: int = 0  # > 0: throttled, the password was not even checked


async def login_with_password(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    address: str | None,
    limits: throttle.Limits,
) -> LoginOutcome:
    now = utcnow()
    keys = throttle.keys(username, address)
    wait = await throttle.locked_for(session, keys, now)
    if wait:
        return LoginOutcome(None, wait)
    user = await user_by_name(session, username)
    ok = passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled_at is not None:
        await throttle.record_failure(session, keys, limits, now)
        return LoginOutcome(None)
    await throttle.clear_account(session, keys)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return LoginOutcome(user)


async def oidc_user(
    session: AsyncSession,
    *,
    issuer: str,
    subject: str,
    username: str,
    display_name: str,
    authority_id: str | None,
    role: str,
) -> User:
    """The account of an OIDC login, created or brought up to date from the ID token."""
    await _check_authority(session, role, authority_id)
    user = await session.scalar(select(User).where(User.issuer == issuer, User.subject == subject))
    name = normal_username(username)[:100] or subject[:100]
    if user is None:
        if await user_by_name(session, name) is not None:
            raise AccountError(f"the username {name!r} belongs to another account")
        user = User(
            id=uuid.uuid4(),
            username=name,
            issuer=issuer,
            subject=subject,
            created_at=utcnow(),
            display_name=display_name,
            authority_id=authority_id,
            role=role,
        )
        session.add(user)
    else:
        user.display_name, user.authority_id, user.role = display_name, authority_id, role
    await session.flush()
    return user


# --- sessions ----------------------------------------------------------------------------------


def session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    token: str
    row: PersonSession


async def open_session(
    session: AsyncSession,
    user: User,
    *,
    method: str,
    address: str | None,
    settings: Settings,
    replaces: str | None = None,
) -> OpenedSession:
    """A new session with a new id (never the one the browser had before the login)."""
    if replaces:
        await end_session(session, replaces)
    await purge_expired(session, settings)
    now = utcnow()
    user.last_login_at = now
    names = await directory.authorities(session) if user.authority_id else {}
    token = secrets.token_urlsafe(32)
    row = PersonSession(
        id=session_key(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        authority_name=names.get(user.authority_id or ""),
        method=method,
        address=address[:100] if address else None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_max_age_seconds),
    )
    session.add(row)
    return OpenedSession(token, row)


async def end_session(session: AsyncSession, token: str) -> bool:
    result = await session.execute(
        delete(PersonSession).where(PersonSession.id == session_key(token))
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_token: str
    key: str
    stale: bool  # last seen long enough ago that it should be touched


def principal_of(user: User, authority_name: str | None) -> Principal:
    return Principal(
        kind="person",
        id=str(user.id),
        name=user.display_name,
        authority_id=user.authority_id,
        role=user.role,
        authority_name=authority_name,
    )


async def active_session(
    session: AsyncSession, token: str, settings: Settings, now: datetime | None = None
) -> ActiveSession | None:
    """The session the token opens, if it has neither expired nor idled out and its account
    is enabled."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    row = (
        await session.execute(
            select(PersonSession, User)
            .join(User, User.id == PersonSession.user_id)
            .where(PersonSession.id == session_key(token))
        )
    ).one_or_none()
    if row is None:
        return None
    person_session, user = row
    idle = timedelta(seconds=settings.session_idle_seconds)
    if (
        person_session.expires_at <= now
        or person_session.last_seen_at + idle <= now
        or user.disabled_at is not None
    ):
        return None
    return ActiveSession(
        principal=principal_of(user, person_session.authority_name),
        csrf_token=person_session.csrf_token,
        key=person_session.id,
        stale=person_session.last_seen_at + TOUCH_EVERY <= now,
    )


async def touch(session: AsyncSession, key: str) -> None:
    await session.execute(
        update(PersonSession).where(PersonSession.id == key).values(last_seen_at=utcnow())
    )


async def purge_expired(session: AsyncSession, settings: Settings) -> int:
    now = utcnow()
    result = await session.execute(
        delete(PersonSession).where(
            (PersonSession.expires_at <= now)
            | (PersonSession.last_seen_at <= now - timedelta(seconds=settings.session_idle_seconds))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
