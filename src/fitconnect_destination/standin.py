"""A development stand-in of the FIT-Connect Zustelldienst — NOT the real service.

Written from the Submission API 1.1.3 (OpenAPI, FITKO, CC BY-SA 4.0): the calls a destination
makes (token, list and fetch submissions, attachments, the case's event log) and those a sender
makes (create a submission, upload attachments, submit), with the new-submission callback
signed as the real service signs it. It checks the signature of every event against the
destination's registered public key, as the real service does. It keeps everything in memory
and exists for the tests and `eantrag demo`; the real service is not reachable from
development machines.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from jwcrypto import jwk, jws

SUBMITTED = "submitted"
TOKEN_SECONDS = 300


@dataclass
class RegisteredDestination:
    destination_id: str
    public_keys: dict[str, Any]
    """The public JWK Set: the `wrapKey` key senders encrypt for, the `verify` key of events."""
    callback_url: str | None = None
    callback_secret: str | None = None


@dataclass
class StoredSubmission:
    submission_id: str
    case_id: str
    destination_id: str
    service_type: dict[str, Any]
    announced: list[str]
    attachments: dict[str, str] = field(default_factory=dict)
    encrypted_metadata: str | None = None
    encrypted_data: str | None = None
    state: str = "created"


@dataclass
class StandIn:
    """The Zustelldienst's state; tests read and steer it directly."""

    client_id: str = "destination-client"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sender_id: str = "sender-client"
    sender_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token_seconds: int = TOKEN_SECONDS
    destinations: dict[str, RegisteredDestination] = field(default_factory=dict)
    submissions: dict[str, StoredSubmission] = field(default_factory=dict)
    events: dict[str, list[str]] = field(default_factory=dict)
    """The event log of each case (compact SETs, in order)."""
    tokens: dict[str, float] = field(default_factory=dict)
    tokens_issued: int = 0
    event_posts: int = 0
    fail_event_posts: int = 0
    """Answer this many event posts with 503 (a transient outage), then work again."""
    hang_event_posts: str | None = None
    """`before-record` / `after-record`: an event post never gets an answer (a lost reply)."""
    callbacks_sent: int = 0

    def register(self, destination: RegisteredDestination) -> None:
        self.destinations[destination.destination_id] = destination

    def add_submission(
        self,
        destination_id: str,
        *,
        encrypted_metadata: str,
        encrypted_data: str,
        attachments: dict[str, str] | None = None,
        service_type: dict[str, Any] | None = None,
    ) -> StoredSubmission:
        """A submitted submission as a sender would leave it (for JWEs made by other tools)."""
        stored = StoredSubmission(
            submission_id=str(uuid.uuid4()),
            case_id=str(uuid.uuid4()),
            destination_id=destination_id,
            service_type=service_type or {"name": "Antrag", "identifier": "urn:unknown"},
            announced=list(attachments or {}),
            attachments=dict(attachments or {}),
            encrypted_metadata=encrypted_metadata,
            encrypted_data=encrypted_data,
            state=SUBMITTED,
        )
        self.submissions[stored.submission_id] = stored
        return stored

    def decoded_events(self, case_id: str) -> list[dict[str, Any]]:
        return [_claims(token) for token in self.events.get(case_id, [])]


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(_b64(token.split(".")[1]))
    return claims


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def create_app(state: StandIn) -> FastAPI:
    app = FastAPI(title="FIT-Connect Zustelldienst (development stand-in)")

    @app.middleware("http")
    async def bearer_token(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Every call but the token endpoint and the public destination data needs a token."""
        public = request.url.path == "/token" or request.url.path.startswith("/v1/destinations/")
        authorization = request.headers.get("authorization", "")
        expires = state.tokens.get(authorization.removeprefix("Bearer "))
        if not public and (expires is None or expires < time.time()):
            return _problem(401, "Unauthorized", "no valid access token")
        return await call_next(request)

    @app.post("/token")
    async def token(
        grant_type: Annotated[str, Form()],
        client_id: Annotated[str, Form()],
        client_secret: Annotated[str, Form()],
    ) -> JSONResponse:
        known = {state.client_id: state.client_secret, state.sender_id: state.sender_secret}
        if grant_type != "client_credentials" or not hmac.compare_digest(
            known.get(client_id, "").encode(), client_secret.encode()
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        value = secrets.token_urlsafe(32)
        state.tokens[value] = time.time() + state.token_seconds
        state.tokens_issued += 1
        return JSONResponse(
            {"access_token": value, "token_type": "Bearer", "expires_in": state.token_seconds}
        )

    @app.get("/v1/submissions")
    async def list_submissions(
        destination_id: Annotated[str, Query(alias="destinationId")],
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        ready = [
            s
            for s in state.submissions.values()
            if s.destination_id == destination_id and s.state == SUBMITTED
        ]
        page = ready[offset : offset + limit]
        return JSONResponse(
            {
                "count": len(page),
                "offset": offset,
                "totalCount": len(ready),
                "submissions": [
                    {
                        "destinationId": s.destination_id,
                        "submissionId": s.submission_id,
                        "caseId": s.case_id,
                    }
                    for s in page
                ],
            }
        )

    @app.get("/v1/submissions/{submission_id}")
    async def get_submission(submission_id: str) -> Response:
        stored = state.submissions.get(submission_id)
        if stored is None or stored.state != SUBMITTED:
            return _problem(404, "Not Found", "submission not found or not submitted")
        return JSONResponse(
            {
                "destinationId": stored.destination_id,
                "submissionId": stored.submission_id,
                "caseId": stored.case_id,
                "attachments": stored.announced,
                "serviceType": stored.service_type,
                "encryptedMetadata": stored.encrypted_metadata,
                "encryptedData": stored.encrypted_data,
            }
        )

    @app.get("/v1/submissions/{submission_id}/attachments/{attachment_id}")
    async def get_attachment(
        submission_id: str,
        attachment_id: str,
    ) -> Response:
        stored = state.submissions.get(submission_id)
        if stored is None or stored.state != SUBMITTED or attachment_id not in stored.attachments:
            return _problem(404, "Not Found", "attachment not found")
        return PlainTextResponse(stored.attachments[attachment_id], media_type="application/jose")

    @app.post("/v1/cases/{case_id}/events")
    async def post_event(case_id: str, request: Request) -> Response:
        state.event_posts += 1
        if state.fail_event_posts > 0:
            state.fail_event_posts -= 1
            return _problem(503, "Service Unavailable", "try again")
        if request.headers.get("content-type", "").split(";")[0] != "application/jose":
            return _problem(415, "Unsupported Media Type", "send application/jose")
        token = (await request.body()).decode("ascii", "replace")
        stored = next((s for s in state.submissions.values() if s.case_id == case_id), None)
        if stored is None:
            return _problem(404, "Not Found", "case not found")
        problem = _verify_event(state, stored, token)
        if problem is not None:
            return _problem(422, "Unprocessable Entity", problem)
        if state.hang_event_posts == "before-record":
            await asyncio.sleep(3600)
        if stored.state != SUBMITTED:
            return _problem(409, "Conflict", f"the submission is already {stored.state}")
        state.events.setdefault(case_id, []).append(token)
        event = next(iter(_claims(token)["events"]))
        stored.state = "accepted" if event.endswith("/accept-submission") else "rejected"
        if state.hang_event_posts == "after-record":
            await asyncio.sleep(3600)
        return Response(status_code=204)

    @app.get("/v1/cases/{case_id}/events")
    async def get_events(
        case_id: str,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        log = state.events.get(case_id, [])
        page = log[offset : offset + limit]
        return JSONResponse(
            {"count": len(page), "offset": offset, "totalCount": len(log), "eventLog": page}
        )

    # The sending side.

    @app.get("/v1/destinations/{destination_id}")
    async def get_destination(destination_id: str) -> Response:
        destination = state.destinations.get(destination_id)
        if destination is None:
            return _problem(404, "Not Found", "destination not found")
        wrap = [k for k in destination.public_keys["keys"] if "wrapKey" in k.get("key_ops", [])]
        return JSONResponse(
            {
                "destinationId": destination_id,
                "status": "active",
                "encryptionKid": wrap[-1]["kid"],
                "metadataVersions": ["1.0.0"],
            }
        )

    @app.get("/v1/destinations/{destination_id}/keys/{kid}")
    async def get_key(destination_id: str, kid: str) -> Response:
        destination = state.destinations.get(destination_id)
        keys = [
            k for k in (destination.public_keys["keys"] if destination else []) if k["kid"] == kid
        ]
        if not keys:
            return _problem(404, "Not Found", "key not found")
        return JSONResponse(keys[0])

    @app.post("/v1/submissions")
    async def create_submission(request: Request) -> Response:
        body = await request.json()
        if body.get("destinationId") not in state.destinations:
            return _problem(404, "Not Found", "destination not found")
        stored = StoredSubmission(
            submission_id=str(uuid.uuid4()),
            case_id=str(uuid.uuid4()),
            destination_id=body["destinationId"],
            service_type=body.get("serviceType") or {},
            announced=[str(a) for a in body.get("announcedAttachments") or []],
        )
        state.submissions[stored.submission_id] = stored
        return JSONResponse(
            {
                "destinationId": stored.destination_id,
                "submissionId": stored.submission_id,
                "caseId": stored.case_id,
            },
            status_code=201,
        )

    @app.put("/v1/submissions/{submission_id}/attachments/{attachment_id}")
    async def put_attachment(
        submission_id: str,
        attachment_id: str,
        request: Request,
    ) -> Response:
        stored = state.submissions.get(submission_id)
        if stored is None:
            return _problem(404, "Not Found", "submission not found")
        if attachment_id not in stored.announced:
            return _problem(422, "Unprocessable Entity", "attachment not announced")
        stored.attachments[attachment_id] = (await request.body()).decode("ascii")
        return Response(status_code=204)

    @app.put("/v1/submissions/{submission_id}")
    async def submit(submission_id: str, request: Request) -> Response:
        stored = state.submissions.get(submission_id)
        if stored is None:
            return _problem(404, "Not Found", "submission not found")
        if set(stored.announced) - set(stored.attachments):
            return _problem(422, "Unprocessable Entity", "announced attachments missing")
        body = await request.json()
        stored.encrypted_metadata = body["encryptedMetadata"]
        stored.encrypted_data = body.get("encryptedData")
        stored.state = SUBMITTED
        await _notify(state, stored)
        return JSONResponse(
            {
                "destinationId": stored.destination_id,
                "submissionId": stored.submission_id,
                "caseId": stored.case_id,
            },
            status_code=202,
        )

    return app


def _verify_event(state: StandIn, stored: StoredSubmission, token: str) -> str | None:
    """What the Zustelldienst checks of an event: signature, header, subject, one event."""
    destination = state.destinations[stored.destination_id]
    try:
        header = json.loads(_b64(token.split(".")[0]))
        verify_keys = [
            k for k in destination.public_keys["keys"] if "verify" in k.get("key_ops", [])
        ]
        key = next(k for k in verify_keys if k["kid"] == header.get("kid"))
        signed = jws.JWS()
        signed.deserialize(token)
        signed.verify(jwk.JWK(**key), alg="PS512")
    except Exception as exc:
        return f"the signature does not verify: {exc!r}"
    claims = _claims(token)
    if header.get("typ") != "secevent+jwt":
        return "typ must be secevent+jwt"
    if claims.get("sub") != f"submission:{stored.submission_id}":
        return "sub does not name the submission"
    if claims.get("txn") != f"case:{stored.case_id}":
        return "txn does not name the case"
    if claims.get("iss") != stored.destination_id:
        return "iss is not the destination"
    if not isinstance(claims.get("events"), dict) or len(claims["events"]) != 1:
        return "exactly one event"
    return None


async def _notify(state: StandIn, stored: StoredSubmission) -> None:
    """The new-submissions callback, signed as FIT-Connect signs it."""
    destination = state.destinations[stored.destination_id]
    if not destination.callback_url or not destination.callback_secret:
        return
    body = json.dumps(
        {
            "type": "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions",
            "submissionIds": [stored.submission_id],
        }
    ).encode()
    timestamp = str(int(time.time()))
    mac = hmac.new(
        destination.callback_secret.encode(), timestamp.encode() + b"." + body, hashlib.sha512
    ).hexdigest()
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(timeout=10) as client:
            await client.post(
                destination.callback_url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "callback-authentication": mac,
                    "callback-timestamp": timestamp,
                },
            )
            state.callbacks_sent += 1


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running(state: StandIn, host: str = "127.0.0.1", port: int | None = None) -> Iterator[str]:
    """Serve the stand-in with uvicorn on a loopback port in a thread; yields its base URL."""
    port = port or free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(state),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, name="fitconnect-standin", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the FIT-Connect stand-in did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        thread.join(timeout=10)
