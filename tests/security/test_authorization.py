"""The authorization matrix of the clerk and triage API, over every route the app serves under
`/v1/cases` and `/v1/triage` (a new route fails this test until it is given a request here):
no token, malformed tokens, unknown, expired and revoked ones → 401; the wrong role → 403;
another authority's token → 404 that is indistinguishable from a case that does not exist.
No response to a token of another authority carries that authority's data.

Below, the same over the whole API: every operation of the OpenAPI document × principal (none,
a portal's access token, a clerk of authority A) × the resources of authorities A and B."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from bootstrap.app import create_app
from casefile.models import Akte, ApiToken, Dokument, Vorgang
from eantrag.db import utcnow
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.casefile.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    authority_message,
    file_directly,
    issue_token,
)
from tests.conftest import EXAMPLES
from tests.identity.support import portal_token
from tests.routing.support import WOHNGELD

PROBLEM = "application/problem+json"
GUARDED = ("/v1/cases", "/v1/triage")


@dataclass
class World:
    own: Vorgang
    own_doc: uuid.UUID
    other: Vorgang
    other_doc: uuid.UUID
    tokens: dict[str, str]


async def _document(runtime: Runtime, case: Vorgang) -> uuid.UUID:
    async with runtime.db.sessionmaker() as session:
        found = await session.scalar(select(Dokument.id).where(Dokument.vorgang_id == case.id))
    assert found is not None
    return found


@pytest.fixture
async def world(runtime: Runtime) -> World:
    own = await file_directly(runtime, await authority_message(runtime.blobs, DRESDEN_ID))
    other = await file_directly(
        runtime, await authority_message(runtime.blobs, LEIPZIG_ID, leika=WOHNGELD)
    )
    expired = await issue_token(runtime.db, DRESDEN_ID, expires_in_days=1)
    revoked = await issue_token(runtime.db, DRESDEN_ID)
    revoked_triage = await issue_token(runtime.db, None, role="triage")
    async with runtime.db.transaction() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_([revoked.row.id, revoked_triage.row.id]))
            .values(revoked_at=utcnow())
        )
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == expired.row.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    clerk = (await issue_token(runtime.db, DRESDEN_ID)).token
    return World(
        own=own,
        own_doc=await _document(runtime, own),
        other=other,
        other_doc=await _document(runtime, other),
        tokens={
            "clerk": clerk,
            "other-clerk": (await issue_token(runtime.db, LEIPZIG_ID)).token,
            "triage": (await issue_token(runtime.db, None, role="triage")).token,
            "clerk-of-no-authority": (await issue_token(runtime.db, None)).token,
            "expired": expired.token,
            "revoked": revoked.token,
            "revoked-triage": revoked_triage.token,
        },
    )


def requests_for(case_id: uuid.UUID, doc_id: uuid.UUID) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, route path) → the request for it, with a harmless valid body."""
    return {
        ("GET", "/v1/cases"): {"url": "/v1/cases"},
        ("GET", "/v1/cases/{case_id}"): {"url": f"/v1/cases/{case_id}"},
        ("POST", "/v1/cases/{case_id}/transitions"): {
            "url": f"/v1/cases/{case_id}/transitions",
            "json": {"to": "in_progress"},
        },
        ("POST", "/v1/cases/{case_id}/missing-documents"): {
            "url": f"/v1/cases/{case_id}/missing-documents",
            "json": {"message": "Bitte reichen Sie den Impfpass nach."},
        },
        ("POST", "/v1/cases/{case_id}/notes"): {
            "url": f"/v1/cases/{case_id}/notes",
            "json": {"text": "Rückfrage"},
        },
        ("GET", "/v1/cases/{case_id}/audit"): {"url": f"/v1/cases/{case_id}/audit"},
        ("GET", "/v1/cases/{case_id}/documents/{document_id}"): {
            "url": f"/v1/cases/{case_id}/documents/{doc_id}"
        },
        ("POST", "/v1/cases/{case_id}/documents"): {
            "url": f"/v1/cases/{case_id}/documents",
            "content": b"%PDF-1.4 Scan",
            "headers": {"content-type": "application/pdf"},
        },
        ("POST", "/v1/cases/{case_id}/assign"): {"url": f"/v1/cases/{case_id}/assign"},
        ("POST", "/v1/cases/{case_id}/release"): {"url": f"/v1/cases/{case_id}/release"},
        ("POST", "/v1/cases/assign"): {
            "url": "/v1/cases/assign",
            "json": {"caseIds": [str(case_id)]},
        },
        ("POST", "/v1/cases/release"): {
            "url": "/v1/cases/release",
            "json": {"caseIds": [str(case_id)]},
        },
        ("GET", "/v1/triage"): {"url": "/v1/triage"},
        ("POST", "/v1/triage/{application_id}/assign"): {
            "url": f"/v1/triage/{uuid.uuid4()}/assign",
            "json": {"authorityId": DRESDEN_ID},
        },
    }


def guarded_routes(settings: Settings) -> set[tuple[str, str]]:
    """Every operation the served OpenAPI document lists under the guarded prefixes."""
    paths = create_app(settings).openapi()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith(GUARDED)
        for method in operations
    }


async def send(
    client: httpx.AsyncClient, method: str, request: dict[str, Any], authorization: str | None
) -> httpx.Response:
    kwargs = {k: v for k, v in request.items() if k != "url"}
    headers = dict(kwargs.pop("headers", {}))
    if authorization is not None:
        headers["authorization"] = authorization
    return await client.request(method, request["url"], headers=headers, **kwargs)


def anonymised(response: httpx.Response, *ids: uuid.UUID) -> dict[str, Any]:
    """The problem without its instance and with the requested ids blanked out."""
    text = response.text
    for value in ids:
        text = text.replace(str(value), "<id>")
    return {k: v for k, v in httpx.Response(200, content=text).json().items() if k != "instance"}


async def test_every_guarded_route_is_in_the_matrix(settings: Settings, world: World) -> None:
    assert guarded_routes(settings) == set(requests_for(world.own.id, world.own_doc))


async def test_bad_credentials_get_401_on_every_route(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = world.tokens["clerk"]
    bad: dict[str, str | None] = {
        "no header": None,
        "empty": "",
        "scheme only": "Bearer",
        "basic scheme": f"Basic {clerk}",
        "token without scheme": clerk,
        "not our prefix": "Bearer abc.def.ghi",
        "prefix only": "Bearer eak_",
        "unknown": "Bearer eak_" + "A" * 43,
        "truncated": f"Bearer {clerk[:-1]}",
        "extended": f"Bearer {clerk}A",
        "case flipped": f"Bearer {clerk.swapcase()}",
        "very long": "Bearer eak_" + "x" * 10_000,
        "non-ascii": "Bearer eak_\u00e9\u00e9",
        "expired": f"Bearer {world.tokens['expired']}",
        "revoked": f"Bearer {world.tokens['revoked']}",
        "revoked triage": f"Bearer {world.tokens['revoked-triage']}",
    }
    wrong = []
    for (method, _path), request in requests_for(world.own.id, world.own_doc).items():
        for what, authorization in bad.items():
            try:
                response = await send(client, method, request, authorization)
            except UnicodeEncodeError:
                continue  # httpx refuses to send it; no server will see it either
            if (
                response.status_code != 401
                or response.headers.get("content-type") != PROBLEM
                or not response.headers.get("www-authenticate", "").startswith("Bearer")
            ):
                wrong.append(f"{what} {method} {request['url']}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_the_wrong_role_gets_403_on_every_route(
    client: httpx.AsyncClient, world: World
) -> None:
    wrong = []
    for (method, path), request in requests_for(world.own.id, world.own_doc).items():
        holders = (
            ["clerk", "other-clerk", "clerk-of-no-authority"]
            if path.startswith("/v1/triage")
            else ["triage", "clerk-of-no-authority"]
        )
        for holder in holders:
            response = await send(client, method, request, f"Bearer {world.tokens[holder]}")
            if response.status_code != 403 or response.headers["content-type"] != PROBLEM:
                wrong.append(f"{holder} {method} {request['url']}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_another_authority_s_case_is_indistinguishable_from_none(
    client: httpx.AsyncClient, world: World
) -> None:
    """Dresden's clerk on Leipzig's case (and documents): the same 404 as for a random id."""
    token = f"Bearer {world.tokens['clerk']}"
    case_routes = {
        key: request
        for key, request in requests_for(world.other.id, world.other_doc).items()
        if "{case_id}" in key[1]
    }
    nowhere_case, nowhere_doc = uuid.uuid4(), uuid.uuid4()
    nowhere = requests_for(nowhere_case, nowhere_doc)
    cross_authority_reads = []
    for key, request in case_routes.items():
        method = key[0]
        response = await send(client, method, request, token)
        if response.status_code < 400:
            cross_authority_reads.append(f"{method} {request['url']}")
            continue
        missing = await send(client, method, nowhere[key], token)
        assert response.status_code == missing.status_code == 404, (key, response.text)
        assert anonymised(response, world.other.id, world.other_doc) == anonymised(
            missing, nowhere_case, nowhere_doc
        ), key
    # one's own case with another case's document id: no such document either
    mixed = {"url": f"/v1/cases/{world.own.id}/documents/{world.other_doc}"}
    if (await send(client, "GET", mixed, token)).status_code != 404:
        cross_authority_reads.append(mixed["url"])
    inbox = (await send(client, "GET", {"url": "/v1/cases"}, token)).json()
    leaked = [item for item in inbox["items"] if item["id"] == str(world.other.id)]
    assert not cross_authority_reads and not leaked, (cross_authority_reads, leaked)


async def test_the_matrix_holds_on_the_own_authority_s_case_too(
    client: httpx.AsyncClient, world: World
) -> None:
    """The same requests with the right token succeed: the 401/403/404 above are not accidents."""
    token = f"Bearer {world.tokens['clerk']}"
    for (method, path), request in requests_for(world.own.id, world.own_doc).items():
        if path.startswith("/v1/triage"):
            continue
        response = await send(client, method, request, token)
        assert response.status_code < 300, (method, path, response.text)
    triage = f"Bearer {world.tokens['triage']}"
    assert (await send(client, "GET", {"url": "/v1/triage"}, triage)).status_code == 200


# --- the endpoint × principal × authority matrix over the whole API ---------------------------
#
# Every operation of the served OpenAPI document (a new route is in it at once), for each
# principal: none, a portal's access token, a clerk token of authority A (Dresden); on the
# resources of authority A and of authority B (Leipzig). It shows that no write is possible
# without credentials and that no principal but B's own reads anything of B.

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Reads that need no credentials, each for a reason; a new one must be added here on purpose.
PUBLIC_READS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/v1/forms",
    "/v1/forms/{form_id}",
    "/v1/forms/{form_id}/schema.json",
    "/schemas/xoev/{path}",
    "/v1/routes",  # the directory of responsibilities is public information
    "/v1/applications/{application_id}",  # the citizen's status: the token is in the URL
    "/.well-known/jwks.json",
    # the Bescheid behind the citizen's status token (a query parameter): no token, no Bescheid
    "/v1/applications/{application_id}/bescheid",
    "/.well-known/oauth-authorization-server",
}
# Bodies of the writes that are not in requests_for (each operation needs one).
EXTRA_WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/applications"): {
        "content": (EXAMPLES / "hundeanmeldung.xml").read_bytes(),
        "headers": {"content-type": "application/xml"},
    },
    ("POST", "/oauth/token"): {"data": {"grant_type": "client_credentials"}},
    # authentic only with the HMAC of the destination's callback secret, which no principal has
    # FIT-Connect is off here: the callback answers 404 (`NOT_SERVED`); when on, a callback
    # without the destination's HMAC is a 401 (tests/fitconnect_destination/test_callback.py)
    ("POST", "/v1/fitconnect/callback"): {
        "json": {
            "type": "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions",
            "submissionIds": [str(uuid.uuid4())],
        }
    },
}


NOT_SERVED = {("POST", "/v1/fitconnect/callback"): "fitconnect_callback_not_configured"}
"""Operations of a feature that is off in this installation: refused to everyone with this code."""


def _not_served(method: str, path: str, response: httpx.Response) -> bool:
    code = NOT_SERVED.get((method, path))
    return (
        code is not None
        and response.status_code == 404
        and response.headers.get("content-type") == PROBLEM
        and response.json().get("code") == code
    )


def _operations(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
    paths = create_app(settings).openapi()["paths"]
    return [
        (method.upper(), path, operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
    ]


def _request(method: str, path: str, ids: dict[str, uuid.UUID], doc: uuid.UUID) -> dict[str, Any]:
    values = {
        "case_id": str(ids["case"]),
        "document_id": str(doc),
        "application_id": str(ids["application"]),
        "form_id": "hundeanmeldung",
        "path": "hundesteuer/1.0/hundesteuer.xsd",
    }
    names = re.findall(r"{(\w+)}", path)
    unknown = [name for name in names if name not in values]
    assert not unknown, f"{method} {path}: the matrix knows no value for {unknown}; add one"
    url = path
    for name in names:
        url = url.replace("{" + name + "}", values[name])
    known = requests_for(ids["case"], doc).get((method, path)) or EXTRA_WRITES.get((method, path))
    if method in WRITES:
        assert known is not None, f"{method} {path}: give the matrix a request body for it"
    request = {k: v for k, v in (known or {}).items() if k != "url"}
    return {"url": url, **request}


def _without_instance(response: httpx.Response) -> str:
    if response.headers.get("content-type") == PROBLEM:
        return orjson.dumps({k: v for k, v in response.json().items() if k != "instance"}).decode()
    return response.text


async def _aktenzeichen(runtime: Runtime, case: Vorgang) -> str:
    async with runtime.db.sessionmaker() as session:
        found = await session.scalar(select(Akte.aktenzeichen).where(Akte.id == case.akte_id))
    assert found
    return found


async def test_the_matrix_from_the_openapi_document(
    runtime: Runtime, settings: Settings, world: World
) -> None:
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            portal = await portal_token(api, runtime.db)
            principals: dict[str, str | None] = {
                "none": None,
                "portal token": f"Bearer {portal}",
                "clerk of A": f"Bearer {world.tokens['clerk']}",
            }
            resources = {
                "A": (
                    {"case": world.own.id, "application": world.own.application_id},
                    world.own_doc,
                ),
                "B": (
                    {"case": world.other.id, "application": world.other.application_id},
                    world.other_doc,
                ),
            }
            b_secrets = {
                str(world.other.id),
                str(world.other_doc),
                str(world.other.application_id),
                await _aktenzeichen(runtime, world.other),
            }
            findings: list[str] = []
            matrix: dict[tuple[str, str, str, str], int] = {}
            for method, path, operation in _operations(settings):
                declared = bool(operation.get("security"))
                for authority, (ids, doc) in resources.items():
                    request = _request(method, path, ids, doc)
                    for who, authorization in principals.items():
                        response = await send(api, method, request, authorization)
                        status = response.status_code
                        matrix[(method, path, authority, who)] = status
                        where = f"{method} {path} on {authority} as {who}: {status}"
                        if _not_served(method, path, response):
                            continue
                        if who == "none" and method in WRITES and status != 401:
                            findings.append("unauthenticated write " + where)
                        if who == "none" and declared and status != 401:
                            findings.append("declared security, no 401 " + where)
                        if (
                            who == "none"
                            and not declared
                            and method not in WRITES
                            and path not in PUBLIC_READS
                        ):
                            findings.append("undeclared public read " + where)
                        # what the request itself named is no read; anything else of B is
                        asked = request["url"] + str(request.get("json", ""))
                        unasked = {s for s in b_secrets if s not in asked}
                        if authority == "B" and any(
                            s in _without_instance(response) for s in unasked
                        ):
                            findings.append("cross-authority read " + where)
                        if (
                            who == "portal token"
                            and path.startswith(GUARDED)
                            and status not in (401, 403)
                        ):
                            findings.append("portal token in the clerk API " + where)
    assert not findings, "\n".join(findings)
    # the 404s are not accidents: A's clerk reads A's case and its document
    assert matrix[("GET", "/v1/cases/{case_id}", "A", "clerk of A")] == 200
    assert matrix[("GET", "/v1/cases/{case_id}/documents/{document_id}", "A", "clerk of A")] == 200
    assert matrix[("GET", "/v1/cases/{case_id}", "B", "clerk of A")] == 404
    assert matrix[("POST", "/v1/applications", "A", "portal token")] == 202
    assert matrix[("POST", "/v1/applications", "A", "none")] == 401
