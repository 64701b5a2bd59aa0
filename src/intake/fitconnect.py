"""Building FIT-Connect-style submissions (metadata + data + attachments) as multipart bodies.

The intake parses these in `receiving`; this side is for senders: the demo, the tests, the
benchmarks, and portals that want a reference.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from contracts.forms import FormSpec


@dataclass(frozen=True)
class OutgoingAttachment:
    attachment_id: str
    content: bytes
    media_type: str
    filename: str
    purpose: str = "attachment"


def metadata_for(
    form: FormSpec, data: bytes, data_media_type: str, attachments: list[OutgoingAttachment]
) -> dict[str, Any]:
    return {
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": hashlib.sha512(data).hexdigest()},
                "submissionSchema": {"schemaUri": form.namespace, "mimeType": data_media_type},
            },
            "attachments": [
                {
                    "attachmentId": a.attachment_id,
                    "hash": {"type": "sha512", "content": hashlib.sha512(a.content).hexdigest()},
                    "purpose": a.purpose,
                    "mimeType": a.media_type,
                    "filename": a.filename,
                }
                for a in attachments
            ],
        },
        "publicServiceType": {"name": form.title, "identifier": form.leika_urn},
    }


def multipart_body(
    parts: list[tuple[str, str, bytes, str | None]], boundary: str | None = None
) -> tuple[bytes, str]:
    """Encode (name, media type, content, filename) parts; returns body and Content-Type."""
    boundary = boundary or f"eantrag-{uuid.uuid4().hex}"
    out = bytearray()
    for name, media_type, content, filename in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        out += f"Content-Type: {media_type}\r\n\r\n".encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def submission(
    form: FormSpec,
    data: bytes,
    data_media_type: str,
    attachments: list[OutgoingAttachment] | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[bytes, str]:
    attachments = attachments or []
    metadata = metadata or metadata_for(form, data, data_media_type, attachments)
    parts: list[tuple[str, str, bytes, str | None]] = [
        ("metadata", "application/json", orjson.dumps(metadata), None),
        ("data", data_media_type, data, None),
    ]
    parts += [(a.attachment_id, a.media_type, a.content, a.filename) for a in attachments]
    return multipart_body(parts)
