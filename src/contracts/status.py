"""`application.<status>`: a change the citizen's timeline shows, from whichever context made it.

The context that makes the change writes it into the citizen's timeline in its own transaction,
through the port below (intake, which owns the timeline, provides it; the composition root
registers it). The change goes to the broker as well only where a queue is bound for it (the
notifications worker, the renderer): a status event that nobody reads costs an outbox row, a
publish and a delivery for nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, get_args

from pydantic import AwareDatetime, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.message import Message
from eantrag.broker import EVENTS_EXCHANGE, process_topology

CitizenStatus = Literal[
    "routed", "unroutable", "filed", "in_progress", "on_hold", "decided", "closed"
]
CITIZEN_STATUSES: tuple[str, ...] = get_args(CitizenStatus)


class StatusChanged(Message):
    """Routing sends `routed`/`unroutable`, the e-Akte `filed`, `in_progress`, `on_hold`
    (documents asked for), `decided` and `closed`; intake keeps them as the application's
    timeline, and the citizen hears of some by e-mail."""

    exchange = EVENTS_EXCHANGE
    message_type = "application.status"

    application_id: uuid.UUID
    status: CitizenStatus
    at: AwareDatetime = Field(description="When the change happened (with its UTC offset).")
    detail: dict[str, Any] = Field(
        default_factory=dict,
        description='routed: `{"authority", "authorityId"}`; unroutable: `{"reason"}`; '
        "the e-Akte's changes: the file reference and what a clerk noted; on_hold: "
        '`{"message"}` for the citizen.',
    )

    @field_validator("detail", mode="before")
    @classmethod
    def _no_detail(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def routing_key(self) -> str:
        return f"application.{self.status}"

    @property
    def type_name(self) -> str:
        return f"application.{self.status}"


TimelineWriter = Callable[[AsyncSession, Sequence[StatusChanged], bool], Awaitable[None]]
"""Writes changes into the citizen's timeline in the caller's transaction; with `repeat`, only
those not in it yet (a re-drive repeats a change that may be there)."""

_timeline: list[TimelineWriter] = []


def provide_timeline(writer: TimelineWriter) -> None:
    """The composition root's registration of the timeline's owner."""
    _timeline[:] = [writer]


def published(status: str) -> bool:
    """Whether a queue is bound for `application.<status>` on the events exchange (in this
    process's installation: the renderer's with renderings on, the notifications worker's with
    an SMTP server)."""
    return bool(process_topology().route(EVENTS_EXCHANGE, f"application.{status}"))


async def record_changes(
    session: AsyncSession, changes: Sequence[StatusChanged], *, repeat: bool = False
) -> None:
    """Put the changes into the citizen's timeline with the caller's transaction."""
    if not changes:
        return
    if not _timeline:
        raise RuntimeError("no timeline provided (contracts.status.provide_timeline)")
    await _timeline[0](session, changes, repeat)


async def announce(
    session: AsyncSession,
    change: StatusChanged,
    *,
    message_id: uuid.UUID | None = None,
    repeat: bool = False,
) -> None:
    """Record a change in the timeline and stage its event where a queue is bound for it."""
    await record_changes(session, [change], repeat=repeat)
    if published(change.status):
        change.stage(session, message_id=message_id)
