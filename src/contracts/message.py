"""The base of every message between contexts: where it goes, how it is staged, how it is read.

A message knows its exchange, routing key and type; `outbox_row` / `stage` put it into the
sender's transaction (the relay publishes it after the commit) and `parse` reads it from a
delivery, turning anything malformed into a `PermanentError` (dead-lettered with the reason).
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.broker import PermanentError
from eantrag.models import OutboxMessage
from eantrag.outbox import message_row


class CamelModel(BaseModel):
    """JSON in camelCase on the wire, snake_case in Python; unknown fields are ignored (a newer
    producer may add optional fields)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Message(CamelModel):
    exchange: ClassVar[str]
    message_type: ClassVar[str]

    @property
    def routing_key(self) -> str:
        return self.message_type

    @property
    def type_name(self) -> str:
        return self.message_type

    def payload(self) -> dict[str, Any]:
        """The body as plain JSON values (datetimes in RFC 3339, UUIDs as strings)."""
        return self.model_dump(mode="json", by_alias=True)

    def outbox_row(
        self, *, message_id: uuid.UUID | None = None, headers: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The outbox row, for a plain insert (e.g. through `Database.group`)."""
        return message_row(
            exchange=self.exchange,
            routing_key=self.routing_key,
            type=self.type_name,
            payload=self.payload(),
            headers=headers,
            message_id=message_id,
        )

    def stage(
        self,
        session: AsyncSession,
        *,
        message_id: uuid.UUID | None = None,
        headers: dict[str, Any] | None = None,
    ) -> uuid.UUID:
        """Stage the message in the session's transaction; it is published after the commit."""
        row = self.outbox_row(message_id=message_id, headers=headers)
        session.add(OutboxMessage(**row))
        message_id = row["message_id"]
        assert isinstance(message_id, uuid.UUID)
        return message_id

    @classmethod
    def parse(cls, body: bytes) -> Self:
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            raise PermanentError(f"malformed {cls.message_type}: {exc}") from exc
