"""A clerk asks the citizen for missing documents: the case waits (on_hold) until resumed.

Resuming is the ordinary transition to in_progress (`service.transition`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from casefile import audit
from casefile.errors import InvalidTransition
from casefile.models import ON_HOLD, Vorgang
from casefile.service import TRANSITIONS, status_event
from eantrag.db import utcnow


def request_documents(session: AsyncSession, case: Vorgang, message: str, actor: str) -> None:
    """Put a case (locked by the caller) on hold with a message for the citizen."""
    if ON_HOLD not in TRANSITIONS.get(case.status, ()):
        raise InvalidTransition(
            f"a case that is {case.status} cannot wait for documents; "
            "only a filed or in_progress case can"
        )
    now = utcnow()
    old_status = case.status
    case.status = ON_HOLD
    case.updated_at = now
    audit.append(
        session,
        case,
        actor=actor,
        action="transition",
        old_value={"status": old_status},
        new_value={"status": ON_HOLD, "missingDocuments": message},
        at=now,
    )
    status_event(session, case.application_id, ON_HOLD, now, {"message": message})
