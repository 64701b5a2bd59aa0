"""Receiving one submission: fetch, decrypt, check, file through intake, answer with an event.

Every step that must not happen twice is behind a committed state (see `models`):

1. The row is inserted as `fetched` when the submission is first seen.
2. Deciding (decrypt, check, file) is repeatable: intake files with the Idempotency-Key
   `fitconnect:<submissionId>`, so a second run after a crash gets the first run's receipt back
   and files nothing twice. Only then is the signed event stored with the state `filed` (or
   `rejected`, when nothing was filed).
3. Each send is counted before it goes out. A send that may have reached the Zustelldienst
   (the count is not zero) is first looked up in the case's event log by its `jti`, so a
   process killed between sending and recording never sends the event a second time.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import orjson
import structlog
from jsonschema import Draft202012Validator
from prometheus_client import Counter

from eantrag.blobs import HashingSpool, TieredBlobStore
from eantrag.db import Database, utcnow
from eantrag.problems import ProblemError
from fitconnect_destination import jose, repository
from fitconnect_destination.client import Refused, SubmissionApi, SubmissionRef, Transient
from fitconnect_destination.keys import DestinationKeys
from fitconnect_destination.models import ANSWERED, FETCHED, FILED, REJECTED
from fitconnect_destination.problems import Problem, Rejected
from intake import errors as intake_errors
from intake.fitconnect import multipart_body
from intake.receiving import Limits, ReceivedAttachment
from intake.service import Receipt, StatusTokens, submit

log = structlog.get_logger(__name__)

SUBMISSIONS = Counter(
    "eantrag_fitconnect_submissions_total",
    "FIT-Connect submissions decided, by answer (accept, reject)",
    ["answer"],
)
EVENTS_SENT = Counter(
    "eantrag_fitconnect_events_sent_total",
    "Events posted to the case event log, by outcome",
    ["outcome"],
)

METADATA_LIMIT = 1024 * 1024
"""Decrypted metadata above this is refused: intake caps the metadata part the same way."""
METADATA_SCHEMAS = {
    "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json": (
        "schema/metadata.schema.v1.0.0.json"
    ),
}
NEWEST_METADATA_SCHEMA = "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json"
"""Metadata naming a schema that cannot be had here (1.x, 2.x) is checked against this one."""


@dataclass
class Destination:
    """Everything receiving needs, built once by the worker."""

    api: SubmissionApi
    keys: DestinationKeys
    destination_id: str
    db: Database
    blobs: TieredBlobStore
    tokens: StatusTokens
    limits: Limits


@dataclass
class Opened:
    """A submission decrypted and checked: what goes to intake, and the tags the accept names."""

    metadata: bytes
    data: bytes
    data_media_type: str
    attachments: list[tuple[str, bytes, str, str | None]] = field(default_factory=list)
    tags: dict[str, Any] = field(default_factory=dict)


@cache
def metadata_validator(schema_uri: str) -> Draft202012Validator:
    path = METADATA_SCHEMAS[schema_uri]
    schema = orjson.loads(resources.files("fitconnect").joinpath(path).read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_metadata(metadata: dict[str, Any]) -> None:
    named = metadata.get("$schema")
    uri = named if named in METADATA_SCHEMAS else NEWEST_METADATA_SCHEMA
    if named is not None and named != uri:
        log.info("fitconnect.metadata_schema_unknown", named=named, checked_against=uri)
    errors = sorted(metadata_validator(uri).iter_errors(metadata), key=str)
    if errors:
        raise Rejected(
            [
                Problem(
                    "schema-violation",
                    f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message[:300]}",
                    "metadata",
                )
                for e in errors[:20]
            ]
        )


async def _decrypt(token: Any, keys: DestinationKeys, limit: int, instance: str) -> jose.Decrypted:
    """Decrypt in a thread: RSA, AES-GCM and inflating 64 MB would hold up the event loop
    (and with it the API of `eantrag serve`) for a noticeable time."""
    if not isinstance(token, str):
        raise Rejected([Problem("encryption-issue", "no JWE", instance)])
    try:
        return await asyncio.to_thread(jose.decrypt, token, keys, limit)
    except jose.TooLarge as exc:
        raise Rejected([Problem("too-large", str(exc), instance)]) from None
    except jose.DecryptionError as exc:
        raise Rejected([Problem("encryption-issue", str(exc), instance)]) from None


def _hash_problem(announced: Any, content: bytes, instance: str) -> Problem | None:
    if not isinstance(announced, dict) or announced.get("type") != "sha512":
        return Problem("hash-mismatch", "no SHA-512 hash announced in the metadata", instance)
    if str(announced.get("content", "")).lower() != hashlib.sha512(content).hexdigest():
        return Problem(
            "hash-mismatch",
            "the SHA-512 of the decrypted content differs from the metadata",
            instance,
        )
    return None


async def open_submission(dest: Destination, ref: SubmissionRef) -> Opened:
    """Fetch, decrypt and check a submission; `Rejected` names every problem found."""
    submission = await dest.api.submission(ref.submission_id)
    if (submission.get("submissionId"), submission.get("destinationId")) != (
        ref.submission_id,
        dest.destination_id,
    ):
        raise Refused(200, "the Zustelldienst answered with another submission or destination")
    decrypted = await _decrypt(
        submission.get("encryptedMetadata"), dest.keys, METADATA_LIMIT, "metadata"
    )
    try:
        metadata = orjson.loads(decrypted.plaintext)
    except orjson.JSONDecodeError as exc:
        raise Rejected([Problem("syntax-violation", f"not JSON: {exc}", "metadata")]) from None
    if not isinstance(metadata, dict):
        raise Rejected([Problem("syntax-violation", "not a JSON object", "metadata")])
    check_metadata(metadata)
    content = metadata["contentStructure"]
    tags: dict[str, Any] = {"metadata": decrypted.authentication_tag, "attachments": {}}

    service = (submission.get("serviceType") or {}).get("identifier")
    announced_service = (metadata.get("publicServiceType") or {}).get("identifier")
    if service and announced_service and service != announced_service:
        raise Rejected(
            [
                Problem(
                    "service-mismatch",
                    f"the submission is for {service}, its metadata for {announced_service}",
                    "metadata",
                )
            ]
        )
    data_meta = content.get("data")
    if data_meta is None or submission.get("encryptedData") is None:
        raise Rejected([Problem("syntax-violation", "the submission carries no data", "data")])
    data = await _decrypt(submission["encryptedData"], dest.keys, dest.limits.max_body, "data")
    tags["data"] = data.authentication_tag
    problems = [p for p in [_hash_problem(data_meta.get("hash"), data.plaintext, "data")] if p]

    announced = {str(a["attachmentId"]): a for a in content.get("attachments", [])}
    carried = {str(a) for a in submission.get("attachments") or []}
    missing = sorted(set(announced) - carried)
    extra = sorted(carried - set(announced))
    if missing:
        problems.append(
            Problem("missing-attachments", f"announced but absent: {', '.join(missing)}", "data")
        )
    if extra:
        problems.append(
            Problem("attachments-mismatch", f"not announced: {', '.join(extra)}", "metadata")
        )
    if problems:
        raise Rejected(problems)
    attachments = []
    for attachment_id, meta in announced.items():
        instance = f"attachment:{attachment_id}"
        token = await dest.api.attachment(ref.submission_id, attachment_id)
        opened = await _decrypt(token, dest.keys, dest.limits.attachment_max, instance)
        tags["attachments"][attachment_id] = opened.authentication_tag
        problem = _hash_problem(meta.get("hash"), opened.plaintext, instance)
        if problem:
            problems.append(problem)
        attachments.append(
            (
                attachment_id,
                opened.plaintext,
                str(meta.get("mimeType") or "application/octet-stream"),
                meta.get("filename"),
            )
        )
    if problems:
        raise Rejected(problems)
    media_type = str((data_meta.get("submissionSchema") or {}).get("mimeType") or "")
    return Opened(decrypted.plaintext, data.plaintext, media_type, attachments, tags)


def _intake_problems(exc: ProblemError) -> list[Problem]:
    """Intake's refusal, as the problems of a reject event."""
    if isinstance(exc, intake_errors.Conflict):
        # Not intake's detail: it names the application filed from the earlier message.
        return [
            Problem(
                "message-repeated",
                f"the {v.name} {v.reason} was received before with other content; "
                "a new message needs a new one",
                "data",
            )
            for v in exc.violations
        ]
    if isinstance(exc, intake_errors.TooLarge):
        reason = "too-large"
    elif isinstance(exc, intake_errors.Malformed):
        reason = "syntax-violation"
    elif isinstance(exc, intake_errors.UnsupportedMediaType | intake_errors.UnknownForm):
        reason = "unsupported-schema"
    elif any("hash" in v.code for v in exc.violations):
        reason = "hash-mismatch"
    elif isinstance(exc, intake_errors.Invalid) and any(
        v.code == "fitconnect.service_mismatch" for v in exc.violations
    ):
        reason = "service-mismatch"
    elif isinstance(exc, intake_errors.Invalid):
        reason = "schema-violation"
    else:
        reason = "form-invalid"
    if not exc.violations:
        return [Problem(reason, exc.detail, "data")]
    return [
        Problem(reason, f"{v.name}: {v.reason}", "metadata" if "metadata" in v.name else "data")
        for v in exc.violations[:20]
    ]


async def file(dest: Destination, ref: SubmissionRef, opened: Opened) -> Receipt:
    """Hand the decrypted submission to intake, as a FIT-Connect-style multipart body."""
    parts: list[tuple[str, str, bytes, str | None]] = [
        ("metadata", "application/json", opened.metadata, None),
        ("data", opened.data_media_type, opened.data, None),
    ]
    parts += [(aid, media, content, name) for aid, content, media, name in opened.attachments]
    body, content_type = multipart_body(parts)
    document = HashingSpool(dest.limits.spool_memory, "application/json")
    document.write(opened.metadata)
    try:
        return await submit(
            dest.db,
            dest.blobs,
            dest.tokens,
            dest.limits,
            body,
            content_type,
            idempotency_key=f"fitconnect:{ref.submission_id}",
            documents=[
                ReceivedAttachment(
                    "fitconnect-metadata", document, "fitconnect-metadata.json", "metadata"
                )
            ],
            received_detail={
                "fitconnect": {"submissionId": ref.submission_id, "caseId": ref.case_id}
            },
        )
    except ProblemError as exc:
        raise Rejected(_intake_problems(exc)) from None
    finally:
        document.close()


async def _filed_with_another(
    dest: Destination, ref: SubmissionRef, receipt: Receipt
) -> str | None:
    """The earlier submission the receipt's application was filed with, if not this one: the
    same message (nachrichtenUUID, content) sent again in a submission of its own."""
    async with dest.db.sessionmaker() as session:
        holder = await repository.by_application(session, receipt.application_id)
    if holder is None or holder["submission_id"] == ref.submission_id:
        return None  # this submission's own filing, found again after a crash
    return str(holder["submission_id"])


async def decide(dest: Destination, ref: SubmissionRef) -> dict[str, Any]:
    """Open, check and file the submission; store the signed answer. Returns the row."""
    jti = uuid.uuid4()
    values: dict[str, Any] = {"event_jti": str(jti)}
    payload: dict[str, Any]
    try:
        opened = await open_submission(dest, ref)
        receipt = await file(dest, ref, opened)
    except Rejected as rejected:
        problems = [p.as_dict() for p in rejected.problems]
        event, payload = jose.REJECT, {"problems": problems}
        values |= {"state": REJECTED, "problems": problems}
        SUBMISSIONS.labels("reject").inc()
        log.warning(
            "fitconnect.rejected",
            submission_id=ref.submission_id,
            case_id=ref.case_id,
            problems=[f"{p['instance']}: {p['type']}" for p in problems],
        )
    else:
        event, payload = jose.ACCEPT, {"authenticationTags": opened.tags}
        earlier = await _filed_with_another(dest, ref, receipt) if receipt.replayed else None
        # A message that came before in another submission is accepted as intake answers a
        # repeat, and is linked to the submission it was filed with, not to this one.
        application_id = None if earlier else receipt.application_id
        values |= {"state": FILED, "application_id": application_id}
        SUBMISSIONS.labels("accept").inc()
        log.info(
            "fitconnect.filed",
            submission_id=ref.submission_id,
            case_id=ref.case_id,
            application_id=str(receipt.application_id),
            replayed=receipt.replayed,
            filed_with_submission=earlier,
        )
    values["event"] = jose.security_event(
        dest.keys,
        issuer=dest.destination_id,
        submission_id=ref.submission_id,
        case_id=ref.case_id,
        event=event,
        payload=payload,
        jti=jti,
    )
    async with dest.db.transaction() as session:
        # Another process that decided meanwhile keeps its event: the one stored is the one sent.
        await repository.set_values(session, ref.submission_id, expect={"state": FETCHED}, **values)
        row = await repository.get(session, ref.submission_id)
    assert row is not None
    return row


def _jti(token: str) -> str | None:
    try:
        claims = orjson.loads(jose.b64url_decode(token.split(".")[1]))
    except (IndexError, ValueError, jose.DecryptionError):
        return None
    return str(claims.get("jti")) if isinstance(claims, dict) else None


async def answer(dest: Destination, row: dict[str, Any]) -> None:
    """Send the stored event once: a send that may have arrived is looked up first."""
    submission_id = row["submission_id"]
    if row["send_attempts"] > 0 and row["event_jti"] in {
        _jti(t) for t in await dest.api.event_log(row["case_id"])
    }:
        log.info("fitconnect.answer_found_in_log", submission_id=submission_id)
    else:
        async with dest.db.transaction() as session:
            claimed = await repository.set_values(
                session,
                submission_id,
                expect={"send_attempts": row["send_attempts"], "state": row["state"]},
                send_attempts=row["send_attempts"] + 1,
            )
        if not claimed:
            log.info("fitconnect.answer_in_other_hands", submission_id=submission_id)
            return
        try:
            await dest.api.send_event(row["case_id"], row["event"])
        except Refused as exc:
            EVENTS_SENT.labels("refused").inc()
            async with dest.db.transaction() as session:
                await repository.set_values(session, submission_id, last_error=str(exc)[:500])
            raise
        except Transient:
            EVENTS_SENT.labels("transient").inc()
            raise
        EVENTS_SENT.labels("sent").inc()
    async with dest.db.transaction() as session:
        await repository.set_values(session, submission_id, state=ANSWERED, answered_at=utcnow())
    log.info(
        "fitconnect.answered",
        submission_id=submission_id,
        case_id=row["case_id"],
        answer="accept" if row["state"] == FILED else "reject",
    )


async def handle(dest: Destination, ref: SubmissionRef) -> None:
    async with dest.db.transaction() as session:
        row = await repository.seen(session, ref)
    if row["state"] == ANSWERED:
        return
    if row["state"] == FETCHED:
        row = await decide(dest, ref)
    await answer(dest, row)


async def receive_pending(dest: Destination) -> int:
    """One pass: every submission waiting for this destination. Returns how many were handled;
    one that fails transiently is left for the next pass without holding up the others."""
    async with dest.db.transaction() as session:
        refs = await repository.unanswered(session, dest.destination_id)
    pending = {ref.submission_id for ref in refs}
    refs += [
        ref
        async for ref in dest.api.submissions(dest.destination_id)
        if ref.destination_id == dest.destination_id and ref.submission_id not in pending
    ]
    handled = 0
    for ref in refs:
        try:
            await handle(dest, ref)
            handled += 1
        except Exception as exc:
            log.warning(
                "fitconnect.submission_failed",
                submission_id=ref.submission_id,
                error=repr(exc)[:300],
            )
    return handled
