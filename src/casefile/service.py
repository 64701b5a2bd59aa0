"""The e-Akte's use cases after filing: work a case, keep its documents, keep the triage desk.

Lifecycle: filed → in_progress (⇄ on_hold, waiting for documents the citizen was asked for) →
decided (granted or refused, with a decision document) → closed (zdA: starts the retention
period) → in_progress again (reopening) only while the retention period runs. It ends on 31
December of the year the file was closed plus the retention years; after that the file belongs
to the Aussonderung and stays closed. A file kept without limit can always be reopened.
Filing itself is `casefile.filing`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casefile import audit, repository
from casefile.bescheid import Bescheide
from casefile.directory import DirectoryLetterheads
from casefile.errors import (
    CaseClosed,
    InvalidTransition,
    MessageRequired,
    OutcomeRequired,
    ReasonRequired,
    ReopenNotAllowed,
    UnusableDecisionDocument,
    Violation,
)
from casefile.filing import (
    LOCAL_TIME,
    Filed,
    PreparedFiling,
    StoredBlob,
    file_application,
    local_year,
    status_changed,
)
from casefile.models import (
    CLOSED,
    DECIDED,
    FILED,
    IN_PROGRESS,
    ON_HOLD,
    Akte,
    AuditEntry,
    Dokument,
    TriageItem,
    Vorgang,
)
from contracts.application import UnroutableApplication
from contracts.status import announce
from eantrag.blobs import TieredBlobStore
from eantrag.db import utcnow

OUTCOMES = ("granted", "refused")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    FILED: (IN_PROGRESS, ON_HOLD),
    IN_PROGRESS: (DECIDED, ON_HOLD),
    ON_HOLD: (IN_PROGRESS,),  # on_hold with a message for the citizen (`missing-documents`)
    DECIDED: (CLOSED,),
    CLOSED: (IN_PROGRESS,),
}


def retention_ends_on(akte: Akte) -> date | None:
    """Last day of the retention period, once the file is closed; None while open or unlimited."""
    if akte.closed_at is None or akte.retention_years is None:
        return None
    return date(local_year(akte.closed_at) + akte.retention_years, 12, 31)


async def status_event(
    session: AsyncSession,
    application_id: uuid.UUID,
    status: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """The citizen's timeline (and status event), written with the transaction that made the
    change."""
    await announce(session, status_changed(application_id, status, at, detail))


# --- working a case --------------------------------------------------------------------------


async def transition(
    session: AsyncSession,
    blobs: TieredBlobStore,
    case: Vorgang,
    *,
    to: str,
    actor: str,
    outcome: str | None = None,
    reason: str | None = None,
    decision_document_id: uuid.UUID | None = None,
    decided_by: str | None = None,
    bescheide: Bescheide | None = None,
) -> None:
    """Move a case (locked by the caller, Akte loaded) to its next state.

    A decision without an uploaded document gets a generated Bescheid (`casefile.bescheid`),
    signed with `decided_by`, the deciding person's display name."""
    old_status = case.status
    if to not in TRANSITIONS.get(old_status, ()):
        allowed = ", ".join(TRANSITIONS.get(old_status, ())) or "nothing"
        raise InvalidTransition(f"a case that is {old_status} can move to {allowed}, not {to}")
    now = utcnow()
    old_value: dict[str, Any] = {"status": old_status}
    new_value: dict[str, Any] = {"status": to}
    detail: dict[str, Any] = {}
    if to == DECIDED:
        if outcome not in OUTCOMES:
            raise OutcomeRequired(
                "a decision is granted or refused",
                [Violation("casefile.outcome_required", "outcome", "granted or refused")],
            )
        assert outcome is not None
        document = await _decision_document(
            session,
            blobs,
            case,
            outcome,
            reason,
            decision_document_id,
            actor,
            now,
            decided_by or actor,
            bescheide or Bescheide(DirectoryLetterheads()),
        )
        old_value["outcome"] = case.outcome
        case.outcome = outcome
        case.decided_at = now
        new_value["outcome"] = outcome
        new_value["decisionDocument"] = {"id": str(document.id), "sha256": document.sha256}
        detail["outcome"] = outcome
    elif to == CLOSED:
        case.closed_at = now
        case.akte.closed_at = now
        ends = retention_ends_on(case.akte)
        new_value["retentionEndsOn"] = ends.isoformat() if ends else None
    elif to == ON_HOLD:
        if not reason:
            raise MessageRequired(
                "say what the citizen is to send",
                [Violation("casefile.message_required", "message", "required")],
            )
        detail["message"] = reason
    elif old_status == CLOSED:
        ends = retention_ends_on(case.akte)
        if ends is not None and now.astimezone(LOCAL_TIME).date() > ends:
            raise ReopenNotAllowed(f"the retention period ended on {ends.isoformat()}")
        old_value["closedAt"] = case.closed_at.isoformat() if case.closed_at else None
        case.closed_at = None
        case.akte.closed_at = None
        new_value["reopened"] = True
        detail["reopened"] = True
    if reason:
        new_value["reason"] = reason
    case.status = to
    case.updated_at = now
    audit.append(
        session,
        case,
        actor=actor,
        action="transition",
        old_value=old_value,
        new_value=new_value,
        at=now,
    )
    await status_event(session, case.application_id, to, now, detail)


async def _decision_document(
    session: AsyncSession,
    blobs: TieredBlobStore,
    case: Vorgang,
    outcome: str,
    reason: str | None,
    document_id: uuid.UUID | None,
    actor: str,
    now: datetime,
    decided_by: str,
    bescheide: Bescheide,
) -> Dokument:
    """The uploaded decision named by the clerk, or a generated one."""
    if document_id is not None:
        chosen = await repository.document(session, case.id, document_id)
        if chosen is None or chosen.kind != "decision":
            raise UnusableDecisionDocument(
                f"{document_id} is no decision document of this case; upload one with "
                "kind=decision, or leave decisionDocumentId out to generate one"
            )
        return chosen
    if outcome == "refused" and not (reason and reason.strip()):
        raise ReasonRequired(
            "Ein Ablehnungsbescheid braucht eine Begründung (§ 39 VwVfG): reason fehlt",
            [Violation("casefile.reason_required", "reason", "required for a refusal")],
        )
    return await bescheide.generate(
        session,
        blobs,
        case,
        outcome=outcome,
        reasons=reason,
        clerk=decided_by,
        actor=actor,
        now=now,
    )


async def add_document(
    session: AsyncSession,
    case: Vorgang,
    stored: StoredBlob,
    *,
    media_type: str,
    filename: str | None,
    kind: str,
    actor: str,
) -> Dokument:
    """A document a clerk uploaded (a decision, or anything else); same key → next version."""
    if case.status not in (FILED, IN_PROGRESS, ON_HOLD, DECIDED):
        raise CaseClosed(f"the case is {case.status}; a closed case is reopened first")
    return await keep_document(
        session,
        case,
        stored,
        media_type=media_type,
        filename=filename,
        kind=kind,
        document_key="decision" if kind == "decision" else f"upload:{filename or 'dokument'}",
        title=filename or ("Bescheid" if kind == "decision" else "Dokument"),
        actor=actor,
    )


async def keep_document(
    session: AsyncSession,
    case: Vorgang,
    stored: StoredBlob,
    *,
    media_type: str,
    filename: str | None,
    kind: str,
    document_key: str,
    title: str,
    actor: str,
) -> Dokument:
    """Add a document (the next version of its key) to a case locked by the caller, audited,
    whatever the case's state."""
    version = await repository.next_version(session, case.id, document_key)
    now = utcnow()
    document = Dokument(
        id=uuid.uuid4(),
        vorgang_id=case.id,
        kind=kind,
        document_key=document_key,
        version=version,
        title=title,
        filename=filename,
        media_type=media_type,
        size=stored.size,
        sha256=stored.sha256,
        sha512=None,
        blob_key=stored.key,
        created_at=now,
        created_by=actor,
    )
    session.add(document)
    audit.append(
        session,
        case,
        actor=actor,
        action="document.added",
        new_value={
            "documentId": str(document.id),
            "kind": kind,
            "version": version,
            "filename": filename,
            "sha256": stored.sha256,
        },
        at=now,
    )
    case.updated_at = now
    return document


def add_note(session: AsyncSession, case: Vorgang, text: str, actor: str) -> AuditEntry:
    return audit.append(session, case, actor=actor, action="note", new_value={"text": text})


def record_read(session: AsyncSession, case: Vorgang, document: Dokument, actor: str) -> None:
    audit.append(
        session,
        case,
        actor=actor,
        action="document.read",
        new_value={
            "documentId": str(document.id),
            "kind": document.kind,
            "version": document.version,
            "sha256": document.sha256,
        },
    )


# --- triage ----------------------------------------------------------------------------------


async def record_unroutable(session: AsyncSession, unroutable: UnroutableApplication) -> None:
    """Keep (or refresh, while still open) the triage item of an unroutable application."""
    application_id = unroutable.application_id
    reason = unroutable.reason
    body = unroutable.payload()
    item = await repository.triage_item(session, application_id, lock=True)
    if item is None:
        session.add(
            TriageItem(
                application_id=application_id,
                reason=reason,
                message=body,
                received_at=utcnow(),
            )
        )
    elif item.assigned_at is None:
        item.reason = reason
        item.message = body


async def assign(
    session: AsyncSession,
    item: TriageItem,
    prepared: PreparedFiling,
    *,
    actor: str,
) -> Filed | None:
    """File a triage item with the authority a clerk chose: `routed`, then `filed`."""
    application = prepared.application
    now = utcnow()
    await status_event(
        session,
        application.application_id,
        "routed",
        now,
        {
            "authority": application.authority_name,
            "authorityId": application.authority_id,
            "via": "triage",
        },
    )
    filed = await file_application(session, prepared, actor=actor, source="triage")
    if filed is None:
        return None
    item.assigned_authority_id = application.authority_id
    item.assigned_at = now
    item.assigned_by = actor
    item.vorgang_id = filed.case.id
    return filed


def record_integrity_failure(
    session: AsyncSession, case: Vorgang, document: Dokument, problem: str, actor: str
) -> None:
    """A read that was refused because the stored bytes are not the filed ones."""
    audit.append(
        session,
        case,
        actor=actor,
        action="document.integrity_failed",
        new_value={"documentId": str(document.id), "sha256": document.sha256, "problem": problem},
    )
