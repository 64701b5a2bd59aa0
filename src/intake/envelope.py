"""The FIT-Connect envelope: what a multipart submission (metadata, data, attachments, an
optional submissionId) must hold before its data part counts, and what the data must then
agree with. `intake.fitconnect` builds such envelopes; `intake.receiving` reads them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

import orjson
from jsonschema import Draft202012Validator

from eantrag.blobs import HashingSpool
from intake.errors import BadSubmission, Invalid, Violation
from intake.jsonload import load_json
from intake.validation import ValidatedApplication

SUBMISSION_ID = "submissionId"
"""An optional part: FIT-Connect's id of the submission, a natural idempotency key like the
form's nachrichtenUUID."""
# No paths, no control characters (C0, DEL, C1), no bidi overrides that disguise an extension,
# none of the characters Windows reserves (a clerk's desktop or an archive ZIP unpacks them).
_SAFE_FILENAME = re.compile(
    r'^[^/\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069:<>"|?*]{1,255}$'
)


@dataclass
class ReceivedAttachment:
    attachment_id: str
    spool: HashingSpool
    filename: str | None
    purpose: str


class EnvelopePart(Protocol):
    """One part of the multipart body as it was spooled."""

    filename: str | None
    media_type: str
    spool: HashingSpool


@dataclass
class Envelope:
    """An envelope whose parts agree with its metadata."""

    metadata: dict[str, Any]
    announced: dict[str, dict[str, Any]]  # attachmentId → what the metadata says of it
    attachments: list[ReceivedAttachment]
    submission_id: str | None


@cache
def fitconnect_metadata_validator() -> Draft202012Validator:
    """The official FIT-Connect metadata schema 1.0.0, as shipped in the `fitconnect` package."""
    text = resources.files("fitconnect").joinpath("schema/metadata.schema.v1.0.0.json").read_text()
    schema = orjson.loads(text)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_filename(filename: str, where: str) -> None:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if not _SAFE_FILENAME.match(filename) or base in {"", ".", ".."} or ".." in filename.split("/"):
        raise BadSubmission(
            [
                Violation(
                    "multipart.bad_filename",
                    where,
                    "file names must not contain paths or control characters",
                )
            ]
        )


def check_envelope(parts: Mapping[str, EnvelopePart]) -> Envelope:
    """The metadata against FIT-Connect's schema, every part against the metadata (media type,
    SHA-512, announced and carried attachments), the submissionId; every problem at once."""
    missing = [name for name in ("metadata", "data") if name not in parts]
    if missing:
        raise BadSubmission(
            [Violation("multipart.missing_part", name, f"no {name!r} part") for name in missing]
        )
    metadata = load_json(parts["metadata"].spool.read_all(), "metadata")
    errors = sorted(fitconnect_metadata_validator().iter_errors(metadata), key=str)
    if errors:
        raise Invalid(
            [
                Violation(
                    "fitconnect.metadata",
                    "metadata/" + "/".join(str(p) for p in error.absolute_path),
                    error.message[:500],
                )
                for error in errors
            ],
            detail="the metadata does not conform to the FIT-Connect metadata schema 1.0.0",
        )
    content = metadata["contentStructure"]
    data_part = parts["data"]
    problems: list[Violation] = []

    declared = content.get("data", {}).get("submissionSchema", {}).get("mimeType")
    if declared and declared != data_part.media_type:
        problems.append(
            Violation(
                "multipart.media_type_mismatch",
                "data",
                f"metadata announces {declared}, the part is {data_part.media_type}",
            )
        )
    problems += _hash_problems("data", content.get("data", {}).get("hash"), data_part.spool)

    announced = {a["attachmentId"]: a for a in content.get("attachments", [])}
    if len(announced) != len(content.get("attachments", [])):
        problems.append(
            Violation(
                "multipart.duplicate_attachment",
                "metadata/contentStructure/attachments",
                "an attachmentId is announced more than once",
            )
        )
    for name in parts:
        if name not in ("metadata", "data", SUBMISSION_ID) and name not in announced:
            problems.append(
                Violation(
                    "multipart.unannounced_part",
                    name,
                    "the metadata announces no attachment with this id",
                )
            )
    attachments: list[ReceivedAttachment] = []
    for attachment_id, meta in announced.items():
        part = parts.get(attachment_id)
        if part is None:
            problems.append(
                Violation(
                    "multipart.missing_attachment",
                    attachment_id,
                    "an announced attachment has no part",
                )
            )
            continue
        problems += _hash_problems(attachment_id, meta.get("hash"), part.spool)
        filename = meta.get("filename") or part.filename
        if filename is not None:
            check_filename(filename, attachment_id)
        part.spool.media_type = meta.get("mimeType") or part.media_type
        attachments.append(
            ReceivedAttachment(
                attachment_id, part.spool, filename, meta.get("purpose", "attachment")
            )
        )
    submission_id = _submission_id(parts.get(SUBMISSION_ID))
    if isinstance(submission_id, Violation):
        problems.append(submission_id)
        submission_id = None
    if problems:
        raise BadSubmission(problems)

    return Envelope(metadata, announced, attachments, submission_id)


def check_data_matches(envelope: Envelope, application: ValidatedApplication) -> None:
    """What the metadata says of the data part must be what the data part turned out to be,
    and every attachment the form refers to must travel in the envelope."""
    metadata = envelope.metadata
    content = metadata["contentStructure"]
    form = application.form
    said = [
        (
            "fitconnect.schema_mismatch",
            "metadata/contentStructure/data/submissionSchema/schemaUri",
            content.get("data", {}).get("submissionSchema", {}).get("schemaUri"),
            form.namespace,
        ),
        (
            "fitconnect.service_mismatch",
            "metadata/publicServiceType/identifier",
            metadata.get("publicServiceType", {}).get("identifier"),
            form.leika_urn,
        ),
    ]
    mismatches = [
        Violation(code, where, f"{given} does not match the form {form.id} ({expected})")
        for code, where, given, expected in said
        if given is not None and given != expected
    ]
    if mismatches:
        raise Invalid(mismatches)
    # An attachment carried inline (`inhalt`) needs no part of its own.
    referenced: set[str] = {
        str(ref["anlageId"])
        for ref in application.form.attachment_refs(application.record)
        if ref.get("anlageId") and "inhalt" not in ref
    }
    unknown = sorted(referenced - set(envelope.announced))
    if unknown:
        raise Invalid(
            [
                Violation(
                    "fitconnect.attachment_unknown",
                    "data",
                    f"the form refers to the attachment {ref}, which the submission does not carry",
                )
                for ref in unknown
            ]
        )


def _submission_id(part: EnvelopePart | None) -> str | Violation | None:
    """The optional `submissionId` part: FIT-Connect's id of the submission, a UUID."""
    if part is None:
        return None
    text = part.spool.read_all().decode("utf-8", "replace").strip()
    part.spool.close()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return Violation(
            "multipart.bad_submission_id", SUBMISSION_ID, "the submissionId must be a UUID"
        )


def _hash_problems(
    name: str, announced: dict[str, Any] | None, spool: HashingSpool
) -> list[Violation]:
    if not announced:
        return [Violation("fitconnect.hash_missing", name, "no hash announced")]
    if announced.get("type") != "sha512":
        return [Violation("fitconnect.hash_type", name, "only sha512 hashes are accepted")]
    if str(announced.get("content", "")).lower() != spool.sha512:
        return [
            Violation(
                "fitconnect.hash_mismatch",
                name,
                "the SHA-512 of the bytes differs from the metadata",
            )
        ]
    return []
