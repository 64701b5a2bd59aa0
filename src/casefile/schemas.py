"""Request and response bodies of the clerk API, and what filing takes in."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator
from pydantic.alias_generators import to_camel

from contracts.application import AttachmentDocument, Document
from identity.people.principal import Actor

Lifecycle = Literal["filed", "in_progress", "decided", "closed"]
# After the Aussonderung a case stays as a tombstone: archived, or destroyed.
Status = Literal["filed", "in_progress", "on_hold", "decided", "closed", "archived", "destroyed"]
Outcome = Literal["granted", "refused"]
AssignmentOutcome = Literal["assigned", "released", "unchanged", "not_found", "not_assignable"]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ApplicationToFile(BaseModel):
    """One application for one authority, from its inbox message or from a triage decision."""

    model_config = ConfigDict(frozen=True)

    application_id: uuid.UUID
    form_id: str | None
    leika_urn: str
    received_at: datetime
    authority_id: str
    authority_name: str
    record: dict[str, Any]
    original: Document
    attachments: list[AttachmentDocument]
    routing: dict[str, Any] = Field(default_factory=dict)


class DocumentOut(ApiModel):
    id: uuid.UUID
    kind: str = Field(description="original, rendering, attachment, decision or upload.")
    title: str
    filename: str | None
    media_type: str
    size: int
    sha256: str
    sha512: str | None
    version: int
    derived_from: uuid.UUID | None = Field(description="The document this one renders.")
    conformance: str | None = Field(
        default=None,
        description="A standard the bytes follow: `PDF/A-2b` for the renderings and Bescheide "
        "the system makes.",
    )
    created_at: datetime
    created_by: str
    href: str


class AkteOut(ApiModel):
    id: uuid.UUID
    file_reference: str = Field(description="Aktenzeichen: `<Kennzeichen>-<year>-<number>`.")
    kennzeichen: str
    plan_title: str
    retention_years: int | None = Field(description="After closing; null: unlimited.")
    disposal: str = Field(description="A archivwürdig, B zu bewerten, V vernichten.")
    closed_at: datetime | None
    retention_ends_on: date | None = Field(
        description="Last day of the retention period (set once the file is closed)."
    )


class AuthorityOut(ApiModel):
    id: str
    name: str


class AssigneeOut(ApiModel):
    id: str = Field(description="Stable id of the person; what `assigned=me` compares.")
    name: str = Field(description="Display name.")


class CaseSummary(ApiModel):
    id: uuid.UUID
    application_id: uuid.UUID
    file_reference: str
    title: str
    status: Status
    outcome: Outcome | None
    service: str = Field(description="LeiKa URN.")
    service_name: str | None = Field(
        description="The service's German name from the directory; null when it has none."
    )
    form: str | None
    applicant_name: str | None = Field(description="`Familienname, Vorname` of the applicant.")
    assignee: AssigneeOut | None = Field(description="Who works the case; null: nobody.")
    assigned_at: datetime | None
    received_at: datetime
    filed_at: datetime
    updated_at: datetime


class DuplicateOut(ApiModel):
    case_id: uuid.UUID
    application_id: uuid.UUID
    file_reference: str
    received_at: datetime
    status: Status


class CaseDetail(CaseSummary):
    authority: AuthorityOut
    akte: AkteOut
    source: str = Field(description="routing, or triage when a clerk assigned it.")
    routing: dict[str, Any]
    decided_at: datetime | None
    closed_at: datetime | None
    record: dict[str, Any] = Field(description="The structured data of the application.")
    documents: list[DocumentOut]
    references: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "What the application is known as elsewhere, by channel, e.g. "
            '`{"fitconnect": {"submissionId": …, "caseId": …}}`.'
        ),
    )
    likely_duplicates: list[DuplicateOut] = Field(
        description="Other applications of the same applicant (names and date of birth) for "
        "the same service in this authority that arrived within 30 days before or after."
    )


class CaseList(ApiModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    counts: dict[Status, int] = Field(
        description="Cases per status under the same filters and search, without the status "
        "filter; every status is named."
    )


class SelectionIn(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    case_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)


class SelectionResultOut(ApiModel):
    case_id: uuid.UUID
    outcome: AssignmentOutcome = Field(
        description="What happened to this case; `not_found` also for another authority's case."
    )
    case: CaseSummary | None = Field(description="The case as it is now; null when not found.")


class SelectionOut(ApiModel):
    results: list[SelectionResultOut] = Field(description="One per case id, in the order given.")


class TransitionIn(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    to: Lifecycle
    outcome: Outcome | None = Field(default=None, description="Only with `decided`; required.")
    reason: str | None = Field(default=None, max_length=5000)
    decision_document_id: uuid.UUID | None = Field(
        default=None,
        description="With `decided`: an uploaded decision document; without it one is generated.",
    )

    @model_validator(mode="after")
    def _outcome_with_decision(self) -> TransitionIn:
        if self.to == "decided" and self.outcome is None:
            raise ValueError("a decision needs an outcome: granted or refused")
        if self.to != "decided" and (self.outcome or self.decision_document_id):
            raise ValueError("outcome and decisionDocumentId belong to `decided` only")
        return self


class MissingDocumentsIn(ApiModel):
    """A request to the citizen for documents; the case waits (on_hold) until resumed."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    message: str = Field(
        min_length=1,
        max_length=5000,
        description="What the citizen is to send, in words the citizen reads (German).",
    )


class NoteIn(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    text: str = Field(min_length=1, max_length=10_000)


class AuditEntryOut(ApiModel):
    seq: int
    at: datetime
    actor: str = Field(
        description=(
            "Who acted, as hash-chained: `person:<user id> <display name>` for a logged-in "
            "person, `token:<token id> <holder>` for a machine's bearer token, `system:…` for "
            "eantrag itself. Its parts are repeated in actorKind, actorId and actorName."
        )
    )
    action: str
    old_value: Any
    new_value: Any
    prev_hash: str
    hash: str

    @computed_field(description="person, token or system; null for entries of an older form.")  # type: ignore[prop-decorator]
    @property
    def actor_kind(self) -> str | None:
        return Actor.parse(self.actor).kind

    @computed_field(description="The user id of the person, or the token id.")  # type: ignore[prop-decorator]
    @property
    def actor_id(self) -> str | None:
        return Actor.parse(self.actor).id

    @computed_field(description="The person's display name, or the token holder's name.")  # type: ignore[prop-decorator]
    @property
    def actor_name(self) -> str:
        return Actor.parse(self.actor).name


class AuditBreakOut(ApiModel):
    position: int
    problem: str


class AuditOut(ApiModel):
    case_id: uuid.UUID
    file_reference: str
    verified: bool = Field(description="The chain checks out against the case's recorded head.")
    breaks: list[AuditBreakOut]
    entries: list[AuditEntryOut]


class TriageItemOut(ApiModel):
    application_id: uuid.UUID
    reason: str | None
    received_at: datetime
    service: str | None
    form: str | None
    ars: str | None
    postleitzahl: str | None
    record: dict[str, Any]
    assigned_authority_id: str | None
    assigned_at: datetime | None
    case_id: uuid.UUID | None


class TriageList(ApiModel):
    items: list[TriageItemOut]


class AssignIn(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    authority_id: str = Field(min_length=1, max_length=100)


class AssignOut(ApiModel):
    application_id: uuid.UUID
    case_id: uuid.UUID
    file_reference: str
    authority: AuthorityOut
