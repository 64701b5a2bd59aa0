"""The whole exchange against the stand-in: submissions encrypted by the sending tool, by
jwcrypto and by joserfc are filed and accepted; broken ones are rejected and file nothing."""

from __future__ import annotations

import asyncio
import hashlib
import os
import zlib
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwe as joserfc_jwe
from joserfc import jws as joserfc_jws
from joserfc.jwk import RSAKey
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from contracts.forms import FORMS
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from fitconnect_destination import jose, repository
from fitconnect_destination.client import SubmissionRef
from fitconnect_destination.consumers import open_destination
from fitconnect_destination.models import ANSWERED
from fitconnect_destination.problems import FITKO, OURS
from fitconnect_destination.sender import send
from fitconnect_destination.service import (
    Destination,
    file,
    handle,
    open_submission,
    receive_pending,
)
from fitconnect_destination.standin import StoredSubmission
from intake.fitconnect import OutgoingAttachment, metadata_for
from intake.models import Application, Attachment, StatusEvent
from tests.conftest import EXAMPLES, new_message
from tests.fitconnect_destination.conftest import KeyFiles, Zustelldienst, public_key
from tests.intake.test_fitconnect import wohngeld_submission
from tests.intake.test_submit import nothing_stored

WOHNGELD = FORMS["wohngeld-mietzuschuss"]
DOG = FORMS["hundeanmeldung"]


async def applications(runtime: Runtime) -> int:
    async with runtime.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Application)) or 0)


def events_sent(outcome: str) -> float:
    value = REGISTRY.get_sample_value("eantrag_fitconnect_events_sent_total", {"outcome": outcome})
    return value or 0.0


def verify_with_joserfc(token: str, key_files: KeyFiles) -> dict[str, Any]:
    """The event's signature, checked by an implementation that is not the product's."""
    key = RSAKey.import_key(public_key(key_files, "sign"))
    signed = joserfc_jws.deserialize_compact(token, key, algorithms=["PS512"])
    assert signed.protected["typ"] == "secevent+jwt"
    assert signed.protected["alg"] == "PS512"
    assert signed.protected["kid"] == public_key(key_files, "sign")["kid"]
    claims: dict[str, Any] = orjson.loads(signed.payload)
    return claims


def the_event(zustelldienst: Zustelldienst, case_id: str) -> str:
    log = zustelldienst.state.events.get(case_id, [])
    assert len(log) == 1, f"expected exactly one event, got {len(log)}"
    return log[0]


async def send_wohngeld(
    zustelldienst: Zustelldienst, fresh: bool = False, data: bytes | None = None, **kwargs: Any
) -> tuple[str, str]:
    """The Wohngeld example (or `data` in its place) through the sending tool."""
    example, media, _metadata, attachments = wohngeld_submission()
    data = example if data is None else data
    if fresh:
        data = new_message(data)  # a message of its own (nachrichtenUUID), not a repeat
    async with httpx.AsyncClient() as http:
        sent = await send(
            http,
            submission_api=zustelldienst.url,
            token_url=zustelldienst.url + "/token",
            client_id=zustelldienst.state.sender_id,
            client_secret=zustelldienst.state.sender_secret,
            destination_id=zustelldienst.destination_id,
            form=WOHNGELD,
            data=data,
            data_media_type=media,
            attachments=attachments,
            **kwargs,
        )
    return sent.submission_id, sent.case_id


@pytest.mark.parametrize("compress", [True, False], ids=["zip-DEF", "no-zip"])
async def test_a_submission_from_the_sending_tool_is_filed_and_accepted(
    runtime: Runtime,
    destination: Destination,
    zustelldienst: Zustelldienst,
    destination_keys: KeyFiles,
    compress: bool,
) -> None:
    submission_id, case_id = await send_wohngeld(zustelldienst, compress=compress)

    assert await receive_pending(destination) == 1

    stored = zustelldienst.state.submissions[submission_id]
    claims = verify_with_joserfc(the_event(zustelldienst, case_id), destination_keys)
    assert claims["iss"] == zustelldienst.destination_id
    assert claims["sub"] == f"submission:{submission_id}"
    assert claims["txn"] == f"case:{case_id}"
    assert isinstance(claims["iat"], int) and claims["jti"]
    assert list(claims["events"]) == [jose.ACCEPT]
    tags = claims["events"][jose.ACCEPT]["authenticationTags"]
    assert stored.encrypted_metadata and stored.encrypted_data
    assert tags["metadata"] == stored.encrypted_metadata.split(".")[4]
    assert tags["data"] == stored.encrypted_data.split(".")[4]
    assert tags["attachments"] == {
        aid: token.split(".")[4] for aid, token in stored.attachments.items()
    }
    assert stored.state == "accepted"

    async with runtime.db.sessionmaker() as session:
        row = await repository.get(session, submission_id)
        assert row is not None and row["state"] == ANSWERED
        app = await session.get(Application, row["application_id"])
        assert app is not None and app.form_id == WOHNGELD.id
        data, *_ = wohngeld_submission()
        assert app.sha512 == hashlib.sha512(data).hexdigest()
        kept = (
            await session.scalars(select(Attachment).where(Attachment.application_id == app.id))
        ).all()
        metadata_doc = [a for a in kept if a.purpose == "metadata"]
        assert len(metadata_doc) == 1
        assert len(kept) == len(stored.attachments) + 1
        timeline = (
            await session.scalars(select(StatusEvent).where(StatusEvent.application_id == app.id))
        ).all()
        assert timeline[0].detail == {
            "fitconnect": {"submissionId": submission_id, "caseId": case_id}
        }

    # Fetching it again files nothing and sends nothing.
    await handle(destination, SubmissionRef(submission_id, case_id, zustelldienst.destination_id))
    assert await applications(runtime) == 1
    assert len(zustelldienst.state.events[case_id]) == 1
    assert await receive_pending(destination) == 0


def dog_parts() -> tuple[bytes, list[OutgoingAttachment], dict[str, Any]]:
    data = new_message((EXAMPLES / "hundeanmeldung.xml").read_bytes())
    attachments = [
        OutgoingAttachment(
            "7f0e9a6c-1c1f-4ad4-8a31-6f3b1f4f5b10", b"%PDF-1.7 proof", "application/pdf", "a.pdf"
        )
    ]
    return data, attachments, metadata_for(DOG, data, "application/xml", attachments)


def jwcrypto_encrypt(plaintext: bytes, public: dict[str, Any], compress: bool) -> str:
    key = jwk.JWK(**public)
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key.thumbprint()}
    if compress:
        header["zip"] = "DEF"
    token = jwcrypto_jwe.JWE(plaintext, protected=header, recipient=key)
    return str(token.serialize(compact=True))


def joserfc_encrypt(plaintext: bytes, public: dict[str, Any], compress: bool) -> str:
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": public["kid"]}
    if compress:
        header["zip"] = "DEF"
    return str(
        joserfc_jwe.encrypt_compact(
            header,
            plaintext,
            # joserfc asks a key-wrapping key for key_ops "encrypt", FIT-Connect's says "wrapKey".
            RSAKey.import_key({k: v for k, v in public.items() if k != "key_ops"}),
            algorithms=["RSA-OAEP-256", "A256GCM", "DEF"],
        )
    )


ENCRYPTORS = {"jwcrypto": jwcrypto_encrypt, "joserfc": joserfc_encrypt}


def put(
    zustelldienst: Zustelldienst,
    encrypt: Any,
    public: dict[str, Any],
    *,
    data: bytes,
    metadata: dict[str, Any],
    attachments: list[OutgoingAttachment],
    compress: bool = True,
) -> StoredSubmission:
    return zustelldienst.state.add_submission(
        zustelldienst.destination_id,
        encrypted_metadata=encrypt(orjson.dumps(metadata), public, compress),
        encrypted_data=encrypt(data, public, compress),
        attachments={a.attachment_id: encrypt(a.content, public, compress) for a in attachments},
        service_type={"name": DOG.title, "identifier": DOG.leika_urn},
    )


@pytest.mark.parametrize("library", sorted(ENCRYPTORS))
@pytest.mark.parametrize("compress", [True, False], ids=["zip-DEF", "no-zip"])
async def test_jwes_made_by_other_libraries_are_accepted(
    runtime: Runtime,
    destination: Destination,
    zustelldienst: Zustelldienst,
    destination_keys: KeyFiles,
    library: str,
    compress: bool,
) -> None:
    data, attachments, metadata = dog_parts()
    stored = put(
        zustelldienst,
        ENCRYPTORS[library],
        public_key(destination_keys, "unwrapKey"),
        data=data,
        metadata=metadata,
        attachments=attachments,
        compress=compress,
    )
    await receive_pending(destination)
    claims = verify_with_joserfc(the_event(zustelldienst, stored.case_id), destination_keys)
    assert list(claims["events"]) == [jose.ACCEPT], claims
    assert await applications(runtime) == 1


def _tamper(token: str) -> str:
    parts = token.split(".")
    ciphertext = bytearray(jose.b64url_decode(parts[3]))
    ciphertext[len(ciphertext) // 2] ^= 0x01
    parts[3] = jose.b64url(bytes(ciphertext))
    return ".".join(parts)


def _seal_with_header(plaintext: bytes, public: dict[str, Any], header: dict[str, Any]) -> str:
    """Seal bytes as they are under a header of our choosing (a bomb announcing zip DEF)."""
    rsa = jwk.JWK(**public).get_op_key("wrapKey")
    protected = jose.b64url(orjson.dumps(header))
    cek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    sealed = AESGCM(cek).encrypt(nonce, plaintext, protected.encode())
    return ".".join(
        (
            protected,
            jose.b64url(rsa.encrypt(cek, jose.OAEP)),
            jose.b64url(nonce),
            jose.b64url(sealed[:-16]),
            jose.b64url(sealed[-16:]),
        )
    )


CASES = ["tampered-ciphertext", "wrong-key", "hash-mismatch", "invalid-form", "zip-bomb"]


@pytest.mark.parametrize("case", CASES)
async def test_a_broken_submission_is_rejected_and_nothing_is_filed(
    runtime: Runtime,
    settings: Settings,
    destination: Destination,
    zustelldienst: Zustelldienst,
    destination_keys: KeyFiles,
    other_keys: KeyFiles,
    case: str,
) -> None:
    data, attachments, metadata = dog_parts()
    public = public_key(destination_keys, "unwrapKey")
    stored = put(
        zustelldienst,
        jwcrypto_encrypt,
        public,
        data=data,
        metadata=metadata,
        attachments=attachments,
    )
    expected: tuple[str, str]
    if case == "tampered-ciphertext":
        assert stored.encrypted_data
        stored.encrypted_data = _tamper(stored.encrypted_data)
        expected = (FITKO + "encryption-issue", "data")
    elif case == "wrong-key":
        stored.encrypted_metadata = jwcrypto_encrypt(
            orjson.dumps(metadata), public_key(other_keys, "unwrapKey"), True
        )
        expected = (FITKO + "encryption-issue", "metadata")
    elif case == "hash-mismatch":
        aid = attachments[0].attachment_id
        stored.attachments[aid] = jwcrypto_encrypt(b"%PDF-1.7 another proof", public, True)
        expected = (FITKO + "hash-mismatch", f"attachment:{aid}")
    elif case == "invalid-form":
        broken = data.replace(b"276098100123456", b"000000000000000", 1)
        assert broken != data
        stored.encrypted_metadata = jwcrypto_encrypt(
            orjson.dumps(metadata_for(DOG, broken, "application/xml", attachments)), public, True
        )
        stored.encrypted_data = jwcrypto_encrypt(broken, public, True)
        expected = (FITKO + "schema-violation", "data")
    else:
        bomb_size = settings.max_body_bytes + 1024 * 1024
        stored.encrypted_data = _seal_with_header(
            _deflate_zeros(bomb_size),
            public,
            {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": public["kid"], "zip": "DEF"},
        )
        assert len(stored.encrypted_data) < bomb_size // 100
        expected = (OURS + "too-large", "data")

    await receive_pending(destination)

    claims = verify_with_joserfc(the_event(zustelldienst, stored.case_id), destination_keys)
    assert list(claims["events"]) == [jose.REJECT]
    problems = claims["events"][jose.REJECT]["problems"]
    assert (problems[0]["type"], problems[0]["instance"]) == expected, problems
    assert all(p["title"] and p["detail"] for p in problems)
    assert stored.state == "rejected"
    assert await nothing_stored(runtime, settings)
    async with runtime.db.sessionmaker() as session:
        row = await repository.get(session, stored.submission_id)
    assert row is not None and row["state"] == ANSWERED and row["application_id"] is None


def _deflate_zeros(size: int) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    out = [deflater.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(out) + deflater.flush()


async def test_a_transient_outage_is_retried_and_the_event_is_sent_once(
    runtime: Runtime, destination: Destination, zustelldienst: Zustelldienst
) -> None:
    _submission_id, case_id = await send_wohngeld(zustelldienst)
    zustelldienst.state.fail_event_posts = 2
    before = {o: events_sent(o) for o in ("transient", "sent")}

    await receive_pending(destination)
    await receive_pending(destination)
    assert case_id not in zustelldienst.state.events
    await receive_pending(destination)

    assert len(zustelldienst.state.events[case_id]) == 1
    assert zustelldienst.state.event_posts == 3
    assert events_sent("transient") - before["transient"] == 2
    assert events_sent("sent") - before["sent"] == 1
    assert await applications(runtime) == 1


async def test_an_expired_token_is_renewed(
    destination: Destination, zustelldienst: Zustelldienst
) -> None:
    await send_wohngeld(zustelldienst)
    await receive_pending(destination)
    await send_wohngeld(zustelldienst, fresh=True)
    issued = zustelldienst.state.tokens_issued
    zustelldienst.state.tokens.clear()  # the Zustelldienst forgets (or revokes) every token

    assert await receive_pending(destination) == 1
    assert zustelldienst.state.tokens_issued == issued + 1


async def test_the_list_is_read_page_by_page(
    runtime: Runtime,
    destination: Destination,
    zustelldienst: Zustelldienst,
    destination_keys: KeyFiles,
) -> None:
    destination.api._page_size = 2
    public = public_key(destination_keys, "unwrapKey")
    for _ in range(5):
        data, attachments, metadata = dog_parts()  # five messages, five nachrichtenUUIDs
        put(
            zustelldienst,
            jwcrypto_encrypt,
            public,
            data=data,
            metadata=metadata,
            attachments=attachments,
        )
    listed = [ref async for ref in destination.api.submissions(zustelldienst.destination_id)]
    assert len({ref.submission_id for ref in listed}) == 5

    assert await receive_pending(destination) == 5
    assert await applications(runtime) == 5
    assert all(len(log) == 1 for log in zustelldienst.state.events.values())
    assert len(zustelldienst.state.events) == 5


async def test_a_crash_after_filing_but_before_recording_it_files_nothing_twice(
    runtime: Runtime, destination: Destination, zustelldienst: Zustelldienst
) -> None:
    """The state a process killed right after intake's commit leaves: the application exists,
    the row still says `fetched`. The next pass decides again and gets the same receipt."""
    submission_id, case_id = await send_wohngeld(zustelldienst)
    ref = SubmissionRef(submission_id, case_id, zustelldienst.destination_id)
    async with runtime.db.transaction() as session:
        await repository.seen(session, ref)
    first = await file(destination, ref, await open_submission(destination, ref))
    assert await applications(runtime) == 1

    await receive_pending(destination)

    async with runtime.db.sessionmaker() as session:
        row = await repository.get(session, submission_id)
    assert row is not None and row["state"] == ANSWERED
    assert row["application_id"] == first.application_id
    assert await applications(runtime) == 1
    assert len(zustelldienst.state.events[case_id]) == 1


async def test_two_workers_on_one_submission_file_once_and_answer_once(
    runtime: Runtime, destination: Destination, zustelldienst: Zustelldienst
) -> None:
    other = await open_destination(runtime)
    try:
        submission_id, case_id = await send_wohngeld(zustelldienst)
        ref = SubmissionRef(submission_id, case_id, zustelldienst.destination_id)
        await asyncio.gather(handle(destination, ref), handle(other, ref))
        await asyncio.gather(receive_pending(destination), receive_pending(other))
    finally:
        await other.api.close()
    assert await applications(runtime) == 1
    assert len(zustelldienst.state.events[case_id]) == 1
    assert zustelldienst.state.event_posts == 1
