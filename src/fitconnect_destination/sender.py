"""The sending side, for the demo, the tests and `eantrag fitconnect send`: encrypt a submission
for a destination's public key and hand it to a Zustelldienst, as an online service does.

Metadata, data and each attachment are compact JWEs (RSA-OAEP-256, A256GCM, `zip: DEF` unless
told otherwise) for the key the destination names as its `encryptionKid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from jwcrypto import jwk

from contracts.forms import FormSpec
from fitconnect_destination.jose import encrypt
from intake.fitconnect import OutgoingAttachment, metadata_for


@dataclass(frozen=True)
class Sent:
    submission_id: str
    case_id: str


def encrypt_submission(
    public: jwk.JWK,
    form: FormSpec,
    data: bytes,
    data_media_type: str,
    attachments: list[OutgoingAttachment],
    *,
    metadata: dict[str, Any] | None = None,
    compress: bool = True,
) -> tuple[str, str, dict[str, str]]:
    """Encrypted metadata, data and attachments (by id) for one submission."""
    metadata = metadata or metadata_for(form, data, data_media_type, attachments)
    return (
        encrypt(orjson.dumps(metadata), public, compress=compress, cty="application/json"),
        encrypt(data, public, compress=compress, cty=data_media_type),
        {a.attachment_id: encrypt(a.content, public, compress=compress) for a in attachments},
    )


async def send(
    http: httpx.AsyncClient,
    *,
    submission_api: str,
    token_url: str,
    client_id: str,
    client_secret: str,
    destination_id: str,
    form: FormSpec,
    data: bytes,
    data_media_type: str,
    attachments: list[OutgoingAttachment] | None = None,
    compress: bool = True,
) -> Sent:
    """Create, upload and submit one submission through the Submission API."""
    attachments = attachments or []
    token = await http.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    token.raise_for_status()
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    base = submission_api.rstrip("/")
    destination = (await http.get(f"{base}/v1/destinations/{destination_id}")).raise_for_status()
    kid = destination.json()["encryptionKid"]
    key = (await http.get(f"{base}/v1/destinations/{destination_id}/keys/{kid}")).raise_for_status()
    public = jwk.JWK(**key.json())
    metadata, encrypted_data, encrypted_attachments = encrypt_submission(
        public, form, data, data_media_type, attachments, compress=compress
    )
    created = (
        await http.post(
            f"{base}/v1/submissions",
            headers=auth,
            json={
                "destinationId": destination_id,
                "announcedAttachments": [a.attachment_id for a in attachments],
                "serviceType": {"name": form.title, "identifier": form.leika_urn},
            },
        )
    ).raise_for_status()
    submission_id = created.json()["submissionId"]
    for attachment_id, jwe in encrypted_attachments.items():
        (
            await http.put(
                f"{base}/v1/submissions/{submission_id}/attachments/{attachment_id}",
                headers=auth | {"Content-Type": "application/jose"},
                content=jwe.encode("ascii"),
            )
        ).raise_for_status()
    (
        await http.put(
            f"{base}/v1/submissions/{submission_id}",
            headers=auth,
            json={"encryptedMetadata": metadata, "encryptedData": encrypted_data},
        )
    ).raise_for_status()
    return Sent(submission_id, created.json()["caseId"])
