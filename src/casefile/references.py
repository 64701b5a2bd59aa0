"""The port through which other contexts name what a case is known as elsewhere.

A case's detail shows, for example, the FIT-Connect submission and case ids it came with. The
e-Akte does not read those contexts' tables: each registers a provider here (in the composition
root), which answers in the caller's session for one application id.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

ReferenceProvider = Callable[[AsyncSession, uuid.UUID], Awaitable[dict[str, Any] | None]]

_providers: dict[str, ReferenceProvider] = {}


def register(name: str, provider: ReferenceProvider) -> None:
    _providers[name] = provider


async def references(session: AsyncSession, application_id: uuid.UUID) -> dict[str, Any]:
    """What each registered context knows of the application, by context name."""
    found = {}
    for name, provider in _providers.items():
        value = await provider(session, application_id)
        if value is not None:
            found[name] = value
    return found
