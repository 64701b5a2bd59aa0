"""The authorization server of the portals (`POST /oauth/token`, JWKS, metadata) and the
dependency that admits a portal to the intake."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote

import structlog
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from eantrag.db import Database
from eantrag.problems import problem_responses
from eantrag.settings import Settings
from identity import ratelimit
from identity.portals import keys, service
from identity.portals.errors import (
    InvalidClient,
    InvalidRequest,
    Unauthenticated,
    UnsupportedGrantType,
)
from identity.portals.service import RegionLookup
from identity.portals.tokens import InvalidToken, Sender, TokenVerifier

log = structlog.get_logger(__name__)

router = APIRouter(tags=["oauth"])

portal_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="portalToken",
    bearerFormat="JWT",
    description=(
        "A portal's access token from `POST /oauth/token` (OAuth2 client credentials), "
        "with scopes `send:region:DE…` and optionally `send:service:…`."
    ),
)


@dataclass
class Portals:
    """What the portal routes need at run time; built in the app's lifespan."""

    settings: Settings
    db: Database
    verifier: TokenVerifier
    region_of: RegionLookup

    @classmethod
    def open(cls, settings: Settings, db: Database, region_of: RegionLookup) -> Portals:
        async def load_jwks() -> list[dict[str, Any]]:
            async with db.sessionmaker() as session:
                return await keys.public_jwks(session)

        verifier = TokenVerifier(
            load_jwks, issuer=settings.effective_token_issuer, audience=settings.token_audience
        )
        return cls(settings, db, verifier, region_of)


def _portals(request: Request) -> Portals:
    portals: Portals = request.app.state.portals
    return portals


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: client id and secret, form-urlencoded, then HTTP Basic."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("the Basic credentials are not valid Base64") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("the Basic credentials have no secret")
    return unquote(client_id), unquote(secret)


TOKEN_RESPONSE = {
    "content": {
        "application/json": {
            "example": {
                "access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9…",
                "token_type": "Bearer",
                "expires_in": 900,
                "scope": "send:region:DE14",
            }
        }
    }
}


@router.post(
    "/oauth/token",
    summary="An access token for a portal (OAuth2 client credentials)",
    description=(
        "`grant_type=client_credentials`; the client authenticates with `client_id` and "
        "`client_secret` as form fields or with HTTP Basic. `scope` may name a subset of the "
        "client's scopes. Errors carry RFC 6749's `error` beside the problem members."
    ),
    responses={200: TOKEN_RESPONSE, **problem_responses(400, 401, 422, 429)},
    dependencies=[Depends(ratelimit.per_address("token"))],
)
async def token(
    request: Request,
    grant_type: Annotated[str | None, Form(max_length=100)] = None,
    scope: Annotated[str | None, Form(max_length=4000)] = None,
    client_id: Annotated[str | None, Form(max_length=200)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
) -> JSONResponse:
    portals = _portals(request)
    basic = _basic_credentials(request.headers.get("authorization"))
    if basic is not None and (client_id or client_secret):
        raise InvalidRequest("give the client's credentials once: as form fields or HTTP Basic")
    if basic is None and (client_id is None or client_secret is None):
        raise InvalidClient("send client_id and client_secret, as form fields or HTTP Basic")
    ident, secret = basic or (client_id or "", client_secret or "")
    if grant_type is None:
        raise InvalidRequest("grant_type is missing; send grant_type=client_credentials")
    if grant_type != "client_credentials":
        raise UnsupportedGrantType(f"grant_type {grant_type[:40]!r} is not supported")
    settings = portals.settings
    async with portals.db.transaction() as session:
        client = await service.authenticate_client(session, ident, secret)
        granted = await service.grant(
            session,
            client,
            scope,
            issuer=settings.effective_token_issuer,
            audience=settings.token_audience,
            lifetime_seconds=settings.token_lifetime_seconds,
        )
    return JSONResponse(
        {
            "access_token": granted.access_token,
            "token_type": "Bearer",
            "expires_in": granted.expires_in,
            "scope": granted.scope,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get(
    "/.well-known/jwks.json",
    summary="The public keys access tokens are signed with (JWKS)",
    responses={200: {"content": {"application/jwk-set+json": {}}}},
)
async def jwks(request: Request) -> JSONResponse:
    portals = _portals(request)
    async with portals.db.transaction() as session:
        await keys.active(session)  # the first key exists before anyone asks for a token
        found = await keys.public_jwks(session)
    return JSONResponse(
        {"keys": found},
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
)
async def metadata(request: Request) -> dict[str, Any]:
    settings = _portals(request).settings
    base = settings.public_base_url.rstrip("/")
    return {
        "issuer": settings.effective_token_issuer,
        "token_endpoint": base + "/oauth/token",
        "jwks_uri": base + "/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["send:region:DE"],
    }


async def sender(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(portal_bearer)],
) -> Sender | None:
    """The portal behind a request to the intake (None while `EANTRAG_INTAKE_AUTH=off`); 401
    without a valid access token. Also counts the request against the portal's rate limit."""
    portals = _portals(request)
    if portals.settings.intake_auth == "off":
        await ratelimit.hit(request, "intake")
        return None
    if credentials is None:
        given = "authorization" in request.headers
        raise Unauthenticated(
            "the Authorization header is not a bearer token"
            if given
            else "send `Authorization: Bearer <access token>`; a portal gets one from "
            "POST /oauth/token",
            token_given=given,
        )
    try:
        who = await portals.verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        log.info(
            "portal.token_refused", reason=str(exc)[:200], address=ratelimit.client_address(request)
        )
        # The reason is the caller's own token's (expired, wrong audience, unknown key …).
        raise Unauthenticated(
            f"the access token is not valid: {str(exc)[:200]}", token_given=True
        ) from None
    await ratelimit.hit(request, "intake", who.client_id)
    return who


Sending = Annotated[Sender | None, Depends(sender)]


async def authorize(
    request: Request, who: Sender, service_urn: str, ars: str | None, postcode: str | None
) -> None:
    """403 unless the portal's scopes cover an application of this service and place."""
    await service.authorize_submission(who, service_urn, ars, postcode, _portals(request).region_of)
