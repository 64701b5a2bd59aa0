"""Who works a case: "Mir zuweisen" (assign to me) and "Freigeben" (release).

- Assigning takes the case over from whoever holds it (a colleague may be away); the audit trail
  names the one before. Assigning a case one holds already, or releasing a free case, changes
  nothing and writes no entry.
- Releasing frees the case whoever holds it, for the same reason.
- A case deleted after the Aussonderung (`archived`, `destroyed`) can no longer be assigned.
- On a selection, every case is decided on its own and the answer says, per case, what happened
  (`assigned`, `released`, `unchanged`, `not_found`, `not_assignable`): a case another clerk
  took meanwhile or one that went to the archive does not hold up the rest. The changes of one
  request commit together. Cases are locked in id order, so that two selections that overlap
  cannot deadlock.
- Only cases of the clerk's own authority are found at all; others are `not_found`, exactly as an
  unknown id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casefile import audit
from casefile.auth import Principal
from casefile.errors import CaseNotAssignable, CaseNotFound
from casefile.models import Vorgang
from casefile.schemas import AssignmentOutcome as Outcome
from eantrag.db import utcnow

log = structlog.get_logger(__name__)

# After the Aussonderung a case is a tombstone: nobody works it any more.
UNASSIGNABLE = ("archived", "destroyed")
MAX_SELECTION = 200


@dataclass(frozen=True)
class Assignee:
    id: str
    """Stable across renames; what `assigned=me` compares."""
    name: str
    """How pages show the person."""


def assignee_of(who: Principal) -> Assignee:
    """The person (or token) a principal stands for: the one place that knows its type."""
    return Assignee(id=f"{who.kind}:{who.id}", name=who.name)


@dataclass(frozen=True)
class Result:
    case_id: uuid.UUID
    outcome: Outcome
    case: Vorgang | None = None


def _current(case: Vorgang) -> dict[str, str] | None:
    if case.assignee_id is None:
        return None
    return {"id": case.assignee_id, "name": case.assignee_name or ""}


def _change(
    session: AsyncSession, case: Vorgang, who: Principal, to: Assignee | None, action: str
) -> None:
    now = utcnow()
    audit.append(
        session,
        case,
        actor=who.actor,
        action=action,
        old_value={"assignee": _current(case)},
        new_value={"assignee": {"id": to.id, "name": to.name} if to else None},
        at=now,
    )
    case.assignee_id = to.id if to else None
    case.assignee_name = to.name if to else None
    case.assigned_at = now if to else None
    case.updated_at = now


def assign(session: AsyncSession, case: Vorgang, who: Principal) -> Outcome:
    """Assign a case (locked by the caller) to the principal."""
    if case.status in UNASSIGNABLE:
        return "not_assignable"
    me = assignee_of(who)
    if case.assignee_id == me.id:
        return "unchanged"
    _change(session, case, who, me, "assigned")
    return "assigned"


def release(session: AsyncSession, case: Vorgang, who: Principal) -> Outcome:
    """Free a case (locked by the caller)."""
    if case.assignee_id is None:
        return "unchanged"
    _change(session, case, who, None, "released")
    return "released"


async def _locked(
    session: AsyncSession, authority_id: str, case_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Vorgang]:
    found = await session.scalars(
        select(Vorgang)
        .where(Vorgang.authority_id == authority_id, Vorgang.id.in_(list(case_ids)))
        .options(selectinload(Vorgang.akte))
        .order_by(Vorgang.id)
        .with_for_update(of=Vorgang)
        .execution_options(populate_existing=True)
    )
    return {case.id: case for case in found}


async def apply(
    session: AsyncSession,
    who: Principal,
    case_ids: Sequence[uuid.UUID],
    action: Literal["assign", "release"],
) -> list[Result]:
    """Assign or release a selection of the principal's authority's cases; one result per id,
    in the order given, an id given twice answered once."""
    wanted = list(dict.fromkeys(case_ids))
    if len(wanted) > MAX_SELECTION:
        raise ValueError(f"at most {MAX_SELECTION} cases at once")
    cases = await _locked(session, who.scope, sorted(wanted)) if wanted else {}
    change = assign if action == "assign" else release
    results = []
    for case_id in wanted:
        case = cases.get(case_id)
        if case is None:
            results.append(Result(case_id, "not_found"))
        else:
            results.append(Result(case_id, change(session, case, who), case))
    log.info(
        "casefile.assignment",
        action=action,
        authority_id=who.scope,
        actor=who.actor,
        outcomes={o: sum(r.outcome == o for r in results) for o in {r.outcome for r in results}},
    )
    return results


async def apply_one(
    session: AsyncSession,
    who: Principal,
    case_id: uuid.UUID,
    action: Literal["assign", "release"],
) -> Vorgang:
    """Assign or release one case; a missing case and a tombstone are errors here."""
    (result,) = await apply(session, who, [case_id], action)
    if result.case is None:
        raise CaseNotFound(f"no case {case_id} for this authority")
    if result.outcome == "not_assignable":
        raise CaseNotAssignable(f"the case is {result.case.status}; nobody works it any more")
    return result.case
