"""The application as it travels: received by intake, routed to an authority or to triage.

`eantrag.application.v1` is what an authority's inbox (`authority.<id>.inbox`) receives and what a
Fachverfahren may consume directly, so it changes only compatibly within 1.x (new optional fields);
anything else is a new type `eantrag.application.v2`. `docs/asyncapi.yaml` documents every message
here (a test checks it against these models).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from contracts.message import CamelModel, Message
from eantrag.broker import AUTHORITIES_EXCHANGE, INTAKE_EXCHANGE

AUTHORITY_MESSAGE_TYPE = "eantrag.application.v1"
UNROUTABLE_MESSAGE_TYPE = "application.unroutable"
RECEIVED_MESSAGE_TYPE = "application.received"
# Header of an `application.received` sent again (sweeper, `eantrag retry`): says why.
REDRIVE_HEADER = "x-redrive"


class Document(CamelModel):
    """A stored document: the blob key is its link, the hashes prove its bytes."""

    blob_key: str = Field(description="Key in the blob store: `sha256/<aa>/<bb>/<sha256>`.")
    sha256: str
    sha512: str
    size: int
    media_type: str


class AttachmentDocument(Document):
    attachment_id: str
    filename: str | None = None
    purpose: str = "attachment"


class ReceivedApplication(Message):
    """`application.received`: intake accepted the application and stored its documents;
    enough for routing and the e-Akte without reading intake's tables."""

    exchange = INTAKE_EXCHANGE
    message_type = RECEIVED_MESSAGE_TYPE

    application_id: uuid.UUID
    form_id: str | None = None
    leika_urn: str
    received_at: datetime
    postleitzahl: str | None = None
    ars: str | None = None
    original: Document
    attachments: list[AttachmentDocument] = Field(default_factory=list)
    record: dict[str, Any] = Field(default_factory=dict)


class UnroutableApplication(ReceivedApplication):
    """`application.unroutable`: the directory names no authority; a clerk's triage item."""

    message_type = UNROUTABLE_MESSAGE_TYPE

    reason: str | None = None
    decided_at: datetime


class AuthorityRef(CamelModel):
    id: str
    name: str


class RoutingInfo(CamelModel):
    matched_area_key: str = Field(description="The area of the responsibility that matched.")
    ars: str = Field(description="The applicant's ARS used for the decision.")
    postleitzahl: str | None = None
    decided_at: datetime


class AuthorityMessage(Message):
    """`eantrag.application.v1`: one application for the authority that is responsible."""

    exchange = AUTHORITIES_EXCHANGE
    message_type = AUTHORITY_MESSAGE_TYPE

    version: Literal["1.0"] = "1.0"
    type: Literal["eantrag.application.v1"] = "eantrag.application.v1"
    application_id: uuid.UUID
    form_id: str | None
    leika_urn: str
    received_at: datetime
    authority: AuthorityRef
    routing: RoutingInfo
    record: dict[str, Any] = Field(description="The structured data of the form, as validated.")
    original: Document = Field(description="The original bytes the citizen sent.")
    attachments: list[AttachmentDocument]

    @property
    def routing_key(self) -> str:
        return self.authority.id

    @property
    def delivery_id(self) -> uuid.UUID:
        return delivery_message_id(self.application_id, self.authority.id)


def delivery_message_id(application_id: uuid.UUID, authority_id: str) -> uuid.UUID:
    """Stable per application and authority, so a consumer can spot a duplicate by id alone."""
    return uuid.uuid5(application_id, f"delivery:{authority_id}")
