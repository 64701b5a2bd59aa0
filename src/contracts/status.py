"""`application.<status>`: a change the citizen's timeline shows, from whichever context made it."""

from __future__ import annotations

import uuid
from typing import Any, Literal, get_args

from pydantic import AwareDatetime, Field, field_validator

from contracts.message import Message
from eantrag.broker import EVENTS_EXCHANGE

CitizenStatus = Literal["routed", "unroutable", "filed", "in_progress", "decided", "closed"]
CITIZEN_STATUSES: tuple[str, ...] = get_args(CitizenStatus)


class StatusChanged(Message):
    """Routing sends `routed`/`unroutable`, the e-Akte `filed`, `in_progress`, `decided` and
    `closed`; intake keeps them as the application's timeline."""

    exchange = EVENTS_EXCHANGE
    message_type = "application.status"

    application_id: uuid.UUID
    status: CitizenStatus
    at: AwareDatetime = Field(description="When the change happened (with its UTC offset).")
    detail: dict[str, Any] = Field(
        default_factory=dict,
        description='routed: `{"authority", "authorityId"}`; unroutable: `{"reason"}`; '
        "the e-Akte's changes: the file reference and what a clerk noted.",
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
