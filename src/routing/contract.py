"""Messages routing reads and writes. The authority message is a versioned public contract.

`eantrag.application.v1` is what an authority's inbox (`authority.<id>.inbox`) receives and what a
Fachverfahren may consume directly, so it changes only compatibly within 1.x (new optional fields);
anything else is a new type `eantrag.application.v2`. `docs/asyncapi.yaml` documents it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

AUTHORITY_MESSAGE_TYPE = "eantrag.application.v1"
UNROUTABLE_MESSAGE_TYPE = "application.unroutable"


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


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


class ReceivedApplication(CamelModel):
    """`application.received` as intake publishes it (only the part routing reads)."""

    application_id: uuid.UUID
    form_id: str | None = None
    leika_urn: str
    received_at: datetime
    postleitzahl: str | None = None
    ars: str | None = None
    original: Document
    attachments: list[AttachmentDocument] = Field(default_factory=list)
    record: dict[str, Any] = Field(default_factory=dict)


class AuthorityRef(CamelModel):
    id: str
    name: str


class RoutingInfo(CamelModel):
    matched_area_key: str = Field(description="The area of the responsibility that matched.")
    ars: str = Field(description="The applicant's ARS used for the decision.")
    postleitzahl: str | None = None
    decided_at: datetime


class AuthorityMessage(CamelModel):
    """`eantrag.application.v1`: one application for the authority that is responsible."""

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


def delivery_message_id(application_id: uuid.UUID, authority_id: str) -> uuid.UUID:
    """Stable per application and authority, so a consumer can spot a duplicate by id alone."""
    return uuid.uuid5(application_id, f"delivery:{authority_id}")
