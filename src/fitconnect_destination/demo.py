"""One FIT-Connect submission end to end for `eantrag demo`, against the development stand-in.

A portal encrypts the Wohngeld example for the destination's public key and submits it to the
stand-in (`fitconnect_destination.standin`, not the real Zustelldienst); the destination fetches,
decrypts and checks it, files it through intake and signs the accept event, whose signature is
then checked with the public key the destination registered.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from jwcrypto import jwk, jws
from rich.console import Console

from contracts.forms import FormSpec
from eantrag.runtime import Runtime
from fitconnect_destination import keys, repository
from fitconnect_destination.client import SubmissionApi
from fitconnect_destination.sender import send
from fitconnect_destination.service import Destination, receive_pending
from fitconnect_destination.standin import RegisteredDestination, StandIn, running
from intake import service as intake_service
from intake.fitconnect import OutgoingAttachment
from intake.service import StatusTokens


async def submit_through_standin(
    runtime: Runtime,
    console: Console,
    form: FormSpec,
    data: bytes,
    attachments: list[OutgoingAttachment],
) -> dict[str, Any]:
    """Returns the application's id and status URL, like a receipt of `POST /v1/applications`."""
    with tempfile.TemporaryDirectory(prefix="eantrag-fitconnect-demo-") as tmp:
        console.print("FIT-Connect     making the destination's RSA-4096 keys …")
        private, public = keys.generate()
        key_path = Path(tmp) / "keys.jwks.json"
        keys.write_private(key_path, private)
        state = StandIn()
        destination_id = str(uuid.uuid4())
        state.register(RegisteredDestination(destination_id, public))
        with running(state) as url:
            console.print(f"FIT-Connect     development stand-in of the Zustelldienst at {url}")
            async with httpx.AsyncClient(timeout=30) as http:
                sent = await send(
                    http,
                    submission_api=url,
                    token_url=url + "/token",
                    client_id=state.sender_id,
                    client_secret=state.sender_secret,
                    destination_id=destination_id,
                    form=form,
                    data=data,
                    data_media_type="application/xml",
                    attachments=attachments,
                )
            console.print(
                f"portal          sent submission {sent.submission_id} (case {sent.case_id}): "
                f"metadata, data and {len(attachments)} attachments as JWE"
            )
            tokens = StatusTokens(await runtime.secret("status-token"))
            dest = Destination(
                api=SubmissionApi(url, url + "/token", state.client_id, state.client_secret),
                keys=keys.load(key_path),
                destination_id=destination_id,
                db=runtime.db,
                blobs=runtime.blobs,
                tokens=tokens,
                limits=intake_service.limits(runtime.settings),
            )
            try:
                await receive_pending(dest)
            finally:
                await dest.api.close()
        async with runtime.db.sessionmaker() as session:
            row = await repository.get(session, sent.submission_id)
    assert row is not None
    (token,) = state.events[sent.case_id]
    verify_key = keys.public_jwk(public, "sign")
    signed = jws.JWS()
    signed.deserialize(token)
    signed.verify(jwk.JWK(**verify_key), alg="PS512")
    event = next(iter(state.decoded_events(sent.case_id)[0]["events"]))
    console.print(
        f"destination     decrypted, checked, filed as application {row['application_id']}; "
        f"event {event.rsplit('/', 1)[-1]} signed (PS512, verified with the registered key)"
    )
    base = runtime.settings.link_base_url
    application_id = row["application_id"]
    token = tokens.issue(application_id)
    return {
        "applicationId": str(application_id),
        "statusUrl": f"{base}/v1/applications/{application_id}?token={token}",
    }
