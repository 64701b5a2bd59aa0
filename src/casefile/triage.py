"""Klärfälle: applications no authority was found for, and their assignment by a triage clerk.

The JSON API (`/v1/triage`) and the triage page call the same functions. Assigning files the
application in the chosen authority's e-Akte exactly as a routed one, with the triage clerk in
the audit trail.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from casefile import directory, filing, repository, service
from casefile.applicant import applicant_of
from casefile.errors import (
    AlreadyAssigned,
    AlreadyFiled,
    BlobMismatch,
    DocumentCorrupted,
    TriageItemNotFound,
    UnknownAuthority,
)
from casefile.models import TriageItem
from eantrag.blobs import TieredBlobStore
from eantrag.db import Database
from eantrag.problems import Violation

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Assigned:
    """Where the application was filed."""

    application_id: uuid.UUID
    case_id: uuid.UUID
    file_reference: str
    authority_id: str
    authority_name: str


async def items(session: AsyncSession, *, open_only: bool, limit: int) -> Sequence[TriageItem]:
    """The triage desk, oldest first (`open_only`: those not assigned yet)."""
    return await repository.triage_items(session, open_only=open_only, limit=limit)


async def authorities(session: AsyncSession) -> dict[str, str]:
    """The directory's authorities a Klärfall may go to: id → name."""
    return await directory.authority_names(session)


async def assign(
    db: Database, blobs: TieredBlobStore, application_id: uuid.UUID, authority_id: str, actor: str
) -> Assigned:
    """File the waiting application in `authority_id`'s e-Akte.

    Two short transactions with the blob check between them: reading and hashing the documents
    must not hold the item's row lock. The second transaction locks the item again, so that two
    clerks assigning at once file it once (the other gets `AlreadyAssigned`).
    """
    async with db.sessionmaker() as session:
        item = await repository.triage_item(session, application_id)
        name = await directory.authority_name(session, authority_id)
    if item is None:
        raise TriageItemNotFound(f"no triage item for application {application_id}")
    if item.assigned_at is not None:
        raise AlreadyAssigned(f"already assigned to {item.assigned_authority_id}")
    if name is None:
        raise UnknownAuthority(
            f"{authority_id!r} is not in the directory",
            [Violation("casefile.unknown_authority", "authorityId", "not in the directory")],
        )
    application = filing.from_triage(item, authority_id, name, actor)
    try:
        prepared = await filing.prepare_filing(blobs, application)
    except BlobMismatch as exc:
        log.error(
            "casefile.triage_integrity_failed", application_id=str(application_id), error=str(exc)
        )
        raise DocumentCorrupted(str(exc)) from exc
    try:
        async with db.transaction() as session:
            locked = await repository.triage_item(session, application_id, lock=True)
            if locked is None or locked.assigned_at is not None:
                raise AlreadyAssigned("the item was assigned meanwhile")
            filed = await service.assign(session, locked, prepared, actor=actor)
            if filed is None:
                raise AlreadyFiled(f"application {application_id} is filed already")
    except filing.FilingConflict as exc:
        raise AlreadyFiled(f"application {application_id} is filed already") from exc
    return Assigned(
        application_id=application_id,
        case_id=filed.case.id,
        file_reference=filed.akte.aktenzeichen,
        authority_id=authority_id,
        authority_name=name,
    )


# --- the desk as the triage page shows it ------------------------------------------------------

# Routing's reasons (routing.service) in the words of the people who read them.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (
            r"no ARS given and postcode (?P<plz>\S+) is not in the directory",
            "Es ist kein Amtlicher Regionalschlüssel angegeben, und die Postleitzahl {plz} "
            "steht nicht im Behördenverzeichnis.",
        ),
        (
            r"no ARS given and postcode (?P<plz>\S+) spans several municipalities "
            r"\((?P<places>.*)\)",
            "Es ist kein Amtlicher Regionalschlüssel angegeben, und die Postleitzahl {plz} "
            "gehört zu mehreren Gemeinden ({places}).",
        ),
        (
            r"neither an ARS nor a postcode of the applicant is known",
            "Weder der Amtliche Regionalschlüssel noch die Postleitzahl der antragstellenden "
            "Person ist bekannt.",
        ),
        (
            r"'(?P<ars>.*)' is not an ARS",
            "„{ars}“ ist kein gültiger Amtlicher Regionalschlüssel.",
        ),
        (
            r"no authority in the directory is responsible for ARS (?P<ars>\S+) "
            r"or an area containing it",
            "Für den Amtlichen Regionalschlüssel {ars} und die Gebiete, in denen er liegt, ist "
            "im Behördenverzeichnis keine Behörde für diese Leistung zuständig.",
        ),
        (
            r"the directory names (?P<count>\d+) authorities for area (?P<area>\S+): "
            r"(?P<names>.*)",
            "Das Behördenverzeichnis nennt {count} Behörden für das Gebiet {area}: {names}.",
        ),
        (
            r"'(?P<urn>.*)' is not a LeiKa URN",
            "„{urn}“ ist keine gültige Leistungskennung (LeiKa).",
        ),
    )
)
UNKNOWN_REASON = "Das Behördenverzeichnis ergab keine zuständige Behörde."


def reason_in_words(reason: str | None) -> str:
    """Why routing found no authority, in German (an unknown reason is quoted as it came)."""
    if not reason:
        return UNKNOWN_REASON
    for pattern, words in _REASONS:
        found = pattern.fullmatch(reason.strip())
        if found:
            return words.format(**found.groupdict())
    return f"{UNKNOWN_REASON} (Meldung der Zuständigkeitsprüfung: {reason})"


@dataclass(frozen=True)
class Klaerfall:
    """One waiting application as the desk shows it."""

    application_id: uuid.UUID
    received_at: datetime
    service: str
    applicant: str | None
    postcode: str | None
    ars: str | None
    reason: str


@dataclass(frozen=True)
class Desk:
    """The triage page: the waiting applications, the authorities to choose from (narrowed by
    the search), and where the last assignment went."""

    items: list[Klaerfall]
    authorities: dict[str, str]
    search: str
    matched: bool
    done: Assigned | None


def _leika_key(urn: object) -> str:
    return str(urn or "").rsplit(":", 1)[-1]


def _matching(names: dict[str, str], search: str) -> dict[str, str]:
    wanted = search.casefold().split()
    return {
        authority_id: name
        for authority_id, name in names.items()
        if all(word in f"{name} {authority_id}".casefold() for word in wanted)
    }


async def outcome(session: AsyncSession, application_id: uuid.UUID) -> Assigned | None:
    """Where an assigned application was filed (None while it waits, or if unknown)."""
    item = await repository.triage_item(session, application_id)
    if item is None or item.vorgang_id is None or item.assigned_authority_id is None:
        return None
    case = await repository.case(session, item.assigned_authority_id, item.vorgang_id)
    if case is None:
        return None
    return Assigned(
        application_id=application_id,
        case_id=case.id,
        file_reference=case.akte.aktenzeichen,
        authority_id=case.authority_id,
        authority_name=case.akte.authority_name,
    )


async def desk(
    session: AsyncSession, *, search: str = "", done: uuid.UUID | None = None, limit: int = 100
) -> Desk:
    waiting = await items(session, open_only=True, limit=limit)
    names = await directory.service_names(
        session, {_leika_key(i.message.get("leikaUrn")) for i in waiting}
    )
    shown = []
    for item in waiting:
        message = item.message
        record = message.get("record")
        person = applicant_of(record) if isinstance(record, dict) else None
        key = _leika_key(message.get("leikaUrn"))
        shown.append(
            Klaerfall(
                application_id=item.application_id,
                received_at=item.received_at,
                service=names.get(key) or str(message.get("leikaUrn") or "unbekannte Leistung"),
                applicant=person.display_name if person else None,
                postcode=message.get("postleitzahl"),
                ars=message.get("ars"),
                reason=reason_in_words(item.reason),
            )
        )
    every = await authorities(session)
    search = search.strip()
    matching = _matching(every, search) if search else every
    return Desk(
        items=shown,
        authorities=matching or every,
        search=search,
        matched=bool(matching),
        done=await outcome(session, done) if done else None,
    )
