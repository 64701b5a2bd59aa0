"""Request and response bodies of the intake API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ReceiptOut(ApiModel):
    """Eingangsbestätigung: what the citizen's portal keeps as proof of submission."""

    application_id: uuid.UUID
    received_at: datetime
    sha256: str = Field(description="SHA-256 of the original bytes of the form document.")
    sha512: str = Field(description="SHA-512 of the same bytes (as FIT-Connect uses it).")
    service: str = Field(description="The service as LeiKa URN.")
    form: str = Field(description="Id of the form.")
    status: str
    status_url: str = Field(description="Where the citizen follows the application; secret.")


class TimelineEntry(ApiModel):
    status: str
    at: datetime
    detail: dict[str, Any] = Field(default_factory=dict)


class StatusOut(ApiModel):
    application_id: uuid.UUID
    service: str
    form: str
    status: str = Field(
        description=(
            "received, routed, unroutable, filed, in_progress, on_hold (documents asked for), "
            "decided or closed."
        )
    )
    received_at: datetime
    updated_at: datetime
    authority: str | None = Field(default=None, description="Name of the responsible authority.")
    file_reference: str | None = Field(default=None, description="Aktenzeichen, once filed.")
    timeline: list[TimelineEntry]


class FormLinks(ApiModel):
    xsd: str
    json_schema: str


class FormOut(ApiModel):
    id: str
    title: str
    service: str = Field(description="LeiKa URN of the service.")
    leika_key: str
    namespace: str = Field(description='XML namespace; JSON documents carry it as "$schema".')
    root: str = Field(description="Local name of the XML root element.")
    max_bytes: int
    links: FormLinks
