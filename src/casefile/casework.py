"""The clerk's desk: the use cases the JSON API (`casefile.api`) and the pages
(`casefile.pages`) share — the Posteingang, a case, assignment, transitions, notes, the audit
trail.

Each function is one use case for one principal, scoped to the principal's authority (a case of
another authority is `CaseNotFound`, exactly as an unknown id), and opens its own transaction;
the routes only parse and shape the answer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from casefile import (
    assignment,
    audit,
    directory,
    documents,
    duplicates,
    inbox,
    references,
    repository,
    service,
)
from casefile.auth import Principal
from casefile.bescheid import Bescheide, Templates
from casefile.directory import DirectoryLetterheads
from casefile.errors import CaseNotFound, InvalidTransition, OutcomeRequired, Violation
from casefile.models import DECIDED, AuditEntry, Vorgang
from eantrag.runtime import Runtime

Action = Literal["assign", "release"]


# --- the Posteingang -------------------------------------------------------------------------


async def inbox_page(
    runtime: Runtime,
    who: Principal,
    wanted: inbox.InboxQuery,
    *,
    limit: int,
    cursor: str | None = None,
) -> inbox.InboxPage:
    """One page of the principal's Posteingang; `assigned="me"` means this principal."""
    mine = replace(wanted, me=assignment.assignee_of(who).id)
    async with runtime.db.sessionmaker() as session:
        return await inbox.page(session, who.scope, mine, limit=limit, cursor=cursor)


async def inbox_services(runtime: Runtime, who: Principal) -> list[inbox.ServiceOption]:
    """The services the principal's authority has cases of (for the service filter)."""
    async with runtime.db.sessionmaker() as session:
        return await inbox.services(session, who.scope)


# --- one case --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseView:
    """A case with its Akte and documents, the service's name, likely duplicates and what other
    contexts know it as."""

    case: Vorgang
    service_name: str | None
    likely_duplicates: list[duplicates.Duplicate]
    references: dict[str, Any] = field(default_factory=dict)


async def _view(session: AsyncSession, who: Principal, case_id: uuid.UUID) -> CaseView:
    case = await repository.case(session, who.scope, case_id, with_documents=True)
    if case is None:
        raise CaseNotFound(f"no case {case_id} for this authority")
    known_as = await references.references(session, case.application_id)
    name = await inbox.service_name(session, case.leika_key)
    likely = await duplicates.likely_duplicates(session, case)
    return CaseView(case, name, likely, known_as)


async def case_view(runtime: Runtime, who: Principal, case_id: uuid.UUID) -> CaseView:
    async with runtime.db.sessionmaker() as session:
        return await _view(session, who, case_id)


@dataclass(frozen=True)
class AuditTrail:
    case: Vorgang
    entries: Sequence[AuditEntry]
    breaks: list[audit.Break]

    @property
    def verified(self) -> bool:
        return not self.breaks


def _checked(case: Vorgang, entries: Sequence[AuditEntry]) -> AuditTrail:
    breaks = audit.check_chain(
        case.id, case.akte.aktenzeichen, case.audit_seq, case.audit_head, entries
    )
    return AuditTrail(case, entries, breaks)


async def audit_trail(runtime: Runtime, who: Principal, case_id: uuid.UUID) -> AuditTrail:
    """The case's audit trail, checked against the head the case records."""
    async with runtime.db.sessionmaker() as session:
        case = await repository.case(session, who.scope, case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        entries = await repository.audit_entries(session, case.id)
    return _checked(case, entries)


@dataclass(frozen=True)
class CaseFile:
    """What the Vorgang page shows: the case and its checked trail, read together."""

    view: CaseView
    trail: AuditTrail
    allowed: tuple[str, ...]
    """The states the case may move to now."""


async def case_file(runtime: Runtime, who: Principal, case_id: uuid.UUID) -> CaseFile:
    async with runtime.db.sessionmaker() as session:
        view = await _view(session, who, case_id)
        entries = await repository.audit_entries(session, view.case.id)
    return CaseFile(
        view,
        _checked(view.case, entries),
        service.TRANSITIONS.get(view.case.status, ()),
    )


async def move(
    runtime: Runtime,
    who: Principal,
    case_id: uuid.UUID,
    *,
    to: str,
    outcome: str | None = None,
    reason: str | None = None,
    decision_document_id: uuid.UUID | None = None,
) -> None:
    """A transition (`service.TRANSITIONS`), a decision with its Bescheid (uploaded or
    generated, signed with the principal's name), or asking for missing documents (`on_hold`)."""
    async with runtime.db.transaction() as session:
        case = await repository.case(session, who.scope, case_id, lock=True)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        await service.transition(
            session,
            runtime.blobs,
            case,
            to=to,
            actor=who.actor,
            outcome=outcome,
            reason=reason,
            decision_document_id=decision_document_id,
            decided_by=who.name,
            bescheide=Bescheide(
                DirectoryLetterheads(), Templates(runtime.settings.bescheid_template_dir)
            ),
        )


@dataclass(frozen=True)
class Upload:
    """A file a person chose in a form."""

    body: AsyncIterable[bytes]
    media_type: str
    filename: str | None


async def decide(
    runtime: Runtime,
    who: Principal,
    case_id: uuid.UUID,
    *,
    outcome: str | None,
    reason: str | None,
    upload: Upload | None = None,
) -> None:
    """Entscheiden: with the Bescheid the clerk uploads (kept as the case's decision document,
    then named by the decision) or with one generated from the templates."""
    if upload is None:
        await move(runtime, who, case_id, to=DECIDED, outcome=outcome, reason=reason)
        return
    # Checked before the upload is kept, so that a refused decision leaves no stray Bescheid.
    async with runtime.db.sessionmaker() as session:
        case = await repository.case(session, who.scope, case_id)
    if case is None:
        raise CaseNotFound(f"no case {case_id} for this authority")
    if DECIDED not in service.TRANSITIONS.get(case.status, ()):
        raise InvalidTransition(f"a case that is {case.status} cannot be decided")
    if outcome not in service.OUTCOMES:
        raise OutcomeRequired(
            "a decision is granted or refused",
            [Violation("casefile.outcome_required", "outcome", "granted or refused")],
        )
    document = await documents.add(
        runtime,
        who,
        case_id,
        upload.body,
        media_type=upload.media_type,
        filename=upload.filename,
        kind="decision",
    )
    await move(
        runtime,
        who,
        case_id,
        to=DECIDED,
        outcome=outcome,
        reason=reason,
        decision_document_id=document.id,
    )


async def add_note(runtime: Runtime, who: Principal, case_id: uuid.UUID, text: str) -> AuditEntry:
    """A note (Vermerk) in the case's audit trail."""
    async with runtime.db.transaction() as session:
        case = await repository.case(session, who.scope, case_id, lock=True)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        return service.add_note(session, case, text, who.actor)


# --- assignment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assigned:
    case: Vorgang
    service_name: str | None


async def assign_one(
    runtime: Runtime, who: Principal, case_id: uuid.UUID, action: Action
) -> Assigned:
    """ "Mir zuweisen" or "Freigeben" on one case."""
    async with runtime.db.transaction() as session:
        case = await assignment.apply_one(session, who, case_id, action)
        name = await inbox.service_name(session, case.leika_key)
    return Assigned(case, name)


@dataclass(frozen=True)
class SelectionResult:
    results: list[assignment.Result]
    service_names: dict[str, str]


async def assign_selection(
    runtime: Runtime, who: Principal, case_ids: Sequence[uuid.UUID], action: Action
) -> SelectionResult:
    """ "Mir zuweisen" or "Freigeben" on a selection: a result per case, committed together."""
    async with runtime.db.transaction() as session:
        results = await assignment.apply(session, who, case_ids, action)
        names = await directory.service_names(
            session, {r.case.leika_key for r in results if r.case is not None}
        )
    return SelectionResult(results, names)
