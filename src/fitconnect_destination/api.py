"""`POST /v1/fitconnect/callback`: the Zustelldienst says new submissions are waiting."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated

import structlog
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from eantrag.problems import ProblemError, problem_responses
from eantrag.runtime import Runtime
from fitconnect_destination.consumers import wake_receivers

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/fitconnect", tags=["fitconnect"])

MAX_AGE_SECONDS = 300
"""A callback older than this (or this far in the future) is refused: a replay."""
MAX_CALLBACK_BYTES = 64 * 1024


def _replayed(seen: dict[str, float], mac: str, now: float) -> bool:
    """Whether `mac` is among the authentication codes of the last ten minutes in `seen` (the
    app's own: the same callback twice is a replay), and remember it."""
    for old in [m for m, at in seen.items() if now - at > 2 * MAX_AGE_SECONDS]:
        del seen[old]
    if mac in seen:
        return True
    seen[mac] = now
    return False


class CallbackRefused(ProblemError):
    status = 401
    code = "fitconnect_callback_refused"
    title = "Callback refused"


class CallbackNotConfigured(ProblemError):
    status = 404
    code = "fitconnect_callback_not_configured"
    title = "FIT-Connect callbacks are not configured"


def verify_callback(
    secret: bytes, timestamp: str | None, mac: str | None, body: bytes, now: float
) -> str | None:
    """Why the callback is not authentic, or None: HMAC-SHA512 over "{timestamp}.{body}"
    (hex), compared in constant time, and a timestamp no older than five minutes."""
    if not timestamp or not mac:
        return "callback-authentication or callback-timestamp missing"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return "callback-timestamp is not a Unix time"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "callback-timestamp is older than five minutes (or in the future)"
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha512).hexdigest()
    if not hmac.compare_digest(expected.encode(), mac.strip().lower().encode("utf-8", "replace")):
        return "callback-authentication does not match"
    return None


@router.post(
    "/callback",
    status_code=200,
    summary="FIT-Connect callback: new submissions are waiting",
    description=(
        "Called by the FIT-Connect Zustelldienst. Authentic when `callback-authentication` is "
        "the hex HMAC-SHA512 of `{callback-timestamp}.{body}` with the destination's callback "
        "secret and the timestamp is at most five minutes old; wakes the `fitconnect` worker."
    ),
    responses={200: {"description": "Accepted; the worker fetches"}, **problem_responses(401, 404)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "FIT-Connect's `CallbackNewSubmissions` (or `CallbackNewEvents`).",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {
                            "type": {"type": "string", "format": "uri"},
                            "submissionIds": {
                                "type": "array",
                                "items": {"type": "string", "format": "uuid"},
                            },
                        },
                    }
                }
            },
        }
    },
)
async def callback(
    request: Request,
    callback_authentication: Annotated[str | None, Header()] = None,
    callback_timestamp: Annotated[str | None, Header()] = None,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    secret = runtime.settings.fitconnect_callback_secret
    if secret is None or not runtime.settings.fitconnect_enabled:
        raise CallbackNotConfigured()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_CALLBACK_BYTES:
            raise CallbackRefused("the callback body is too large")
    reason = verify_callback(
        secret.get_secret_value().encode(),
        callback_timestamp,
        callback_authentication,
        bytes(body),
        time.time(),
    )
    client = request.client.host if request.client else None
    seen: dict[str, float] | None = getattr(request.app.state, "fitconnect_callbacks_seen", None)
    if seen is None:
        seen = request.app.state.fitconnect_callbacks_seen = {}
    mac = str(callback_authentication).strip().lower()
    if reason is None and _replayed(seen, mac, time.time()):
        reason = "the same callback was received before (a replay)"
    if reason is not None:
        log.warning("fitconnect.callback_refused", reason=reason, client=client)
        raise CallbackRefused(reason)
    log.info("fitconnect.callback", client=client)
    wake_receivers()
    return Response(status_code=200)
