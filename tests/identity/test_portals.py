"""Portals as OAuth2 clients: a portal gets a token and submits; tokens that are not ours,
not valid any more or not covering the application are refused, and nothing is stored."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from eantrag.runtime import Runtime
from eantrag.settings import Settings
from identity.portals import keys
from identity.portals.keys import ActiveKey
from identity.portals.tokens import issue
from intake.models import Application
from tests.conftest import EXAMPLES, new_message, stored_blobs
from tests.identity.conftest import AppClient
from tests.identity.support import register, token_for
from tests.routing.support import import_example

PROBLEM = "application/problem+json"
XML = {"content-type": "application/xml"}
DOG_URN = "urn:de:fim:leika:leistung:99102013104000"
WOHNGELD_URN = "urn:de:fim:leika:leistung:99107023037000"


def dog(**address: str | None) -> bytes:
    """The example dog registration as JSON, with the applicant's address changed."""
    document = orjson.loads((EXAMPLES / "hundeanmeldung.json").read_bytes())
    anschrift = document["halter"]["anschrift"]
    for key, value in address.items():
        if value is None:
            anschrift.pop(key, None)
        else:
            anschrift[key] = value
    return orjson.dumps(document)


async def submit(
    api: httpx.AsyncClient, token: str | None, body: bytes | None = None
) -> httpx.Response:
    headers = dict(XML if body is None else {"content-type": "application/json"})
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await api.post(
        "/v1/applications",
        content=body or new_message((EXAMPLES / "hundeanmeldung.xml").read_bytes()),
        headers=headers,
    )


async def nothing_stored(runtime: Runtime, settings: Settings) -> bool:
    async with runtime.db.sessionmaker() as session:
        applications = await session.scalar(select(func.count()).select_from(Application))
    return applications == 0 and not await stored_blobs(runtime, settings)


# --- the token endpoint and a submission -------------------------------------------------------


async def test_a_portal_gets_a_token_and_submits(api: httpx.AsyncClient, runtime: Runtime) -> None:
    client_id, secret = await register(runtime.db, "send:region:DE14")
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "send:region:DE14"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == client_id and claims["aud"] == "urn:eantrag:intake"
    assert claims["iss"] == "http://testserver" and claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "ES256"

    accepted = await submit(api, body["access_token"])
    assert accepted.status_code == 202, accepted.text
    # the citizen's status URL stays as it was: its own token, no portal token
    url = httpx.URL(accepted.json()["statusUrl"])
    status = await api.get(url.path, params=dict(url.params))
    assert status.status_code == 200 and status.json()["status"] == "received"


async def test_http_basic_and_a_narrower_scope(api: httpx.AsyncClient, runtime: Runtime) -> None:
    client_id, secret = await register(runtime.db, "send:region:DE14", "send:region:DE15")
    response = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "send:region:DE14"},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "send:region:DE14"
    wider = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "send:region:DE"},
        auth=(client_id, secret),
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"


async def test_the_token_endpoint_refuses_bad_clients(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    client_id, secret = await register(runtime.db)
    grant = {"grant_type": "client_credentials"}
    cases: dict[str, tuple[dict[str, str], Any, int, str]] = {
        "wrong secret": (grant, (client_id, secret + "x"), 401, "invalid_client"),
        "unknown client": (grant, ("portal-0000000000000000", secret), 401, "invalid_client"),
        "no credentials": (grant, None, 401, "invalid_client"),
        "other grant": (
            {"grant_type": "password"},
            (client_id, secret),
            400,
            "unsupported_grant_type",
        ),
        "no grant": ({}, (client_id, secret), 400, "invalid_request"),
    }
    for what, (data, auth, status, error) in cases.items():
        response = await api.post("/oauth/token", data=data, auth=auth)
        assert response.status_code == status, (what, response.text)
        assert response.headers["content-type"] == PROBLEM, what
        assert response.json()["error"] == error, what
        assert secret not in response.text
    basic = await api.post(
        "/oauth/token",
        data=grant,
        headers={"authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    )
    assert basic.status_code == 401 and basic.headers["www-authenticate"].startswith("Basic")


async def test_a_revoked_portal_gets_no_token(api: httpx.AsyncClient, runtime: Runtime) -> None:
    from identity.portals import service

    client_id, secret = await register(runtime.db)
    async with runtime.db.transaction() as session:
        await service.revoke_client(session, client_id)
    response = await api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


# --- scopes: region and service --------------------------------------------------------------


async def test_a_token_of_another_region_gets_403_and_nothing_is_stored(
    api: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    leipzig = await token_for(api, *await register(runtime.db, "send:region:DE147"))
    response = await submit(api, leipzig)  # the dog lives in Dresden, ARS 146120000000
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["missing_scope"] == "send:region:DE146120000000"
    assert "146120000000" in problem["detail"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert await nothing_stored(runtime, settings)


async def test_a_service_scope_limits_the_services(
    api: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    wohngeld_only = await token_for(
        api, *await register(runtime.db, "send:region:DE14", f"send:service:{WOHNGELD_URN}")
    )
    refused = await submit(api, wohngeld_only)
    assert refused.status_code == 403
    assert refused.json()["missing_scope"] == f"send:service:{DOG_URN}"
    assert await nothing_stored(runtime, settings)
    dogs = await token_for(
        api, *await register(runtime.db, "send:region:DE146", f"send:service:{DOG_URN}")
    )
    assert (await submit(api, dogs)).status_code == 202


async def test_the_region_of_a_postcode_comes_from_the_directory(
    api: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    await import_example(runtime.db)
    leipzig = await token_for(api, *await register(runtime.db, "send:region:DE147"))
    saxony = await token_for(api, *await register(runtime.db, "send:region:DE14"))
    everywhere = await token_for(api, *await register(runtime.db, "send:region:DE"))
    in_leipzig = dog(ars=None, postleitzahl="04109")
    in_dresden = dog(ars=None, postleitzahl="01067")
    nowhere = dog(ars=None, postleitzahl="99998")  # in no municipality of the directory

    dresden_refused = await submit(api, leipzig, in_dresden)
    assert dresden_refused.status_code == 403
    assert dresden_refused.json()["missing_scope"] == "send:region:DE146120000000"
    unknown_refused = await submit(api, saxony, nowhere)
    assert unknown_refused.status_code == 403
    assert unknown_refused.json()["missing_scope"] == "send:region:DE"
    assert await nothing_stored(runtime, settings)

    assert (await submit(api, leipzig, in_leipzig)).status_code == 202
    assert (await submit(api, saxony, in_dresden)).status_code == 202
    assert (await submit(api, everywhere, nowhere)).status_code == 202


# --- tokens that are not valid ----------------------------------------------------------------


def _segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


async def test_forged_expired_and_confused_tokens_get_401(
    api: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    valid = await token_for(api, *await register(runtime.db))
    header = jwt.get_unverified_header(valid)
    claims = jwt.decode(valid, options={"verify_signature": False})
    async with runtime.db.transaction() as session:
        ours = await keys.active(session)
    public_pem = (
        ours.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )

    def signed(key: ActiveKey, **changes: Any) -> str:
        return issue(
            key,
            client_id=claims["client_id"],
            scopes=["send:region:DE"],
            issuer=changes.get("issuer", settings.effective_token_issuer),
            audience=changes.get("audience", settings.token_audience),
            lifetime_seconds=changes.get("lifetime", 900),
        )

    stranger = ActiveKey(ours.kid, ec.generate_private_key(ec.SECP256R1()))
    unknown_kid = ActiveKey("not-a-key-of-ours", ours.private_key)
    body, signature = valid.rsplit(".", 1)[0], valid.rsplit(".", 1)[1]
    other_claims = {**claims, "client_id": "portal-ffffffffffffffff", "scope": "send:region:DE"}
    hmac_header = {**header, "alg": "HS256"}
    hs256 = _hs256_with_public_key(hmac_header, claims, public_pem)
    bad = {
        "forged signature": f"{body}.{signature[:-4]}AAAA",
        "signed by another key under our kid": signed(stranger),
        "claims swapped under our signature": f"{_segment(header)}.{_segment(other_claims)}."
        f"{signature}",
        "alg none": f"{_segment({**header, 'alg': 'none'})}.{_segment(claims)}.",
        "HS256 with the public key": hs256,
        "unknown kid": signed(unknown_kid),
        "expired": signed(ours, lifetime=-60),
        "wrong issuer": signed(ours, issuer="https://evil.example"),
        "wrong audience": signed(ours, audience="urn:other"),
        "not a JWT": "portal-token",
    }
    wrong = []
    for what, token in bad.items():
        response = await submit(api, token)
        challenge = response.headers.get("www-authenticate", "")
        if (
            response.status_code != 401
            or response.headers["content-type"] != PROBLEM
            or not challenge.startswith("Bearer")
            or 'error="invalid_token"' not in challenge
        ):
            wrong.append(f"{what}: {response.status_code} {response.text[:200]}")
    missing = await submit(api, None)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert not wrong, "\n".join(wrong)
    assert await nothing_stored(runtime, settings)
    assert (await submit(api, valid)).status_code == 202, "the valid token itself works"


def _hs256_with_public_key(header: dict[str, Any], claims: dict[str, Any], key: str) -> str:
    """The classic confusion: HMAC keyed with the verifier's public key (PyJWT will not make
    it, so it is made by hand)."""
    import hashlib
    import hmac

    signing_input = f"{_segment(header)}.{_segment(claims)}"
    mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


async def test_an_expired_token_is_refused_even_after_it_was_accepted(
    api: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    async with runtime.db.transaction() as session:
        key = await keys.active(session)
    short = issue(
        key,
        client_id="portal-0123456789abcdef",
        scopes=["send:region:DE"],
        issuer=settings.effective_token_issuer,
        audience=settings.token_audience,
        lifetime_seconds=2,
    )
    assert (await submit(api, short)).status_code == 202
    await asyncio.sleep(2.1)
    assert (await submit(api, short)).status_code == 401


async def test_rotation_keeps_old_tokens_valid_and_publishes_both_keys(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    client_id, secret = await register(runtime.db)
    old = await token_for(api, client_id, secret)
    async with runtime.db.transaction() as session:
        new_kid, retired = await keys.rotate(session, timedelta(minutes=15))
    new = await token_for(api, client_id, secret)
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert jwt.get_unverified_header(old)["kid"] in retired
    jwks = (await api.get("/.well-known/jwks.json")).json()["keys"]
    assert {k["kid"] for k in jwks} == {new_kid, *retired}
    assert all("d" not in k and k["kty"] == "EC" and k["alg"] == "ES256" for k in jwks)
    assert (await submit(api, old)).status_code == 202
    assert (await submit(api, new)).status_code == 202
    # a key retired when tokens live 0 s leaves the JWKS at once; the first one stays its 15 min
    async with runtime.db.transaction() as session:
        newest, _ = await keys.rotate(session, timedelta(seconds=0))
        published = {k["kid"] for k in await keys.public_jwks(session)}
    assert published == {newest, *retired}


async def test_intake_auth_off_admits_anyone(app_client: AppClient) -> None:
    async with app_client(intake_auth="off") as api:
        assert (await submit(api, None)).status_code == 202


async def test_the_application_names_its_portal_and_a_receipt_goes_only_to_it(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    first_id, first_secret = await register(runtime.db)
    first = await token_for(api, first_id, first_secret)
    other = await token_for(api, *await register(runtime.db))
    body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()

    async def send(token: str) -> httpx.Response:
        headers = {**XML, "authorization": f"Bearer {token}", "idempotency-key": "k-1"}
        return await api.post("/v1/applications", content=body, headers=headers)

    accepted = await send(first)
    assert accepted.status_code == 202
    assert (await send(first)).status_code == 200, "its own sender gets the receipt again"
    stolen = await send(other)
    assert stolen.status_code == 409, "another portal with the same key and content"
    assert "statusUrl" not in stolen.text
    async with runtime.db.sessionmaker() as session:
        senders = (await session.scalars(select(Application.sender))).all()
    assert senders == [first_id]
