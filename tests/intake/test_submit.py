"""POST /v1/applications on the embedded default and on PostgreSQL: what is accepted, what is
refused, and that a refusal leaves nothing behind."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable

import httpx
import orjson
import pytest
from sqlalchemy import delete, func, select

from eantrag.blobs import blob_key, read_all
from eantrag.models import InlineBlob, OutboxMessage
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from intake.models import Application, Attachment, StatusEvent
from tests.conftest import EXAMPLES, blob_files, break_postcode, new_message, stored_blobs

XML = {"content-type": "application/xml"}
JSON = {"content-type": "application/json"}


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def nothing_stored(runtime: Runtime, settings: Settings) -> bool:
    counts = [
        await count(runtime, m) for m in (Application, Attachment, StatusEvent, OutboxMessage)
    ]
    return counts == [0, 0, 0, 0] and await stored_blobs(runtime, settings) == set()


@pytest.mark.parametrize(
    ("example", "headers", "form", "service"),
    [
        ("hundeanmeldung.xml", XML, "hundeanmeldung", "urn:de:fim:leika:leistung:99102013104000"),
        ("hundeanmeldung.json", JSON, "hundeanmeldung", "urn:de:fim:leika:leistung:99102013104000"),
        ("wohngeld.xml", XML, "wohngeld-mietzuschuss", "urn:de:fim:leika:leistung:99107023037000"),
        (
            "wohngeld.json",
            JSON,
            "wohngeld-mietzuschuss",
            "urn:de:fim:leika:leistung:99107023037000",
        ),
    ],
)
async def test_example_is_accepted_and_stored_durably(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    example: str,
    headers: dict[str, str],
    form: str,
    service: str,
) -> None:
    body = (EXAMPLES / example).read_bytes()
    response = await client.post("/v1/applications", content=body, headers=headers)

    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["form"] == form
    assert receipt["service"] == service
    assert receipt["sha256"] == hashlib.sha256(body).hexdigest()
    assert receipt["status"] == "received"
    assert response.headers["location"] == receipt["statusUrl"]
    assert "token=" in receipt["statusUrl"]

    async with runtime.db.sessionmaker() as session:
        app = await session.scalar(select(Application))
        outbox = (await session.scalars(select(OutboxMessage))).all()
    assert app is not None and str(app.id) == receipt["applicationId"]
    assert app.status == "received"
    assert app.record, "the structured data is stored with the application"
    stored = b"".join([chunk async for chunk in runtime.blobs.read(app.blob_key)])
    assert stored == body, "the original bytes are kept unchanged"
    assert [m.type for m in outbox] == ["application.received"]
    event = orjson.loads(outbox[0].body)
    assert event["applicationId"] == receipt["applicationId"]
    assert event["original"]["sha256"] == receipt["sha256"]


@pytest.mark.parametrize("inline_max", [64 * 1024, 0], ids=["row", "file"])
async def test_the_original_is_a_row_of_the_commit_or_a_file_by_its_size(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, inline_max: int
) -> None:
    runtime.blobs.inline_max = inline_max
    body = (EXAMPLES / "wohngeld.xml").read_bytes()
    response = await client.post("/v1/applications", content=body, headers=XML)
    assert response.status_code == 202, response.text
    key = blob_key(response.json()["sha256"])
    async with runtime.db.sessionmaker() as session:
        row = await session.get(InlineBlob, key)
    files = blob_files(settings)
    if inline_max:
        assert row is not None and row.data == body
        assert files == [], "no file and no fsync of its own for a small original"
    else:
        assert row is None
        assert files == [settings.data_dir / "blobs" / key]
    assert await read_all(runtime.blobs, key) == body


async def test_xml_and_json_twins_give_the_same_record(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    for name, headers in (("wohngeld.xml", XML), ("wohngeld.json", JSON)):
        response = await client.post(
            "/v1/applications", content=(EXAMPLES / name).read_bytes(), headers=headers
        )
        assert response.status_code == 202, response.text
    async with runtime.db.sessionmaker() as session:
        records = (await session.scalars(select(Application.record))).all()
    # Each example is a message of its own: only the nachrichtenUUID differs.
    for record in records:
        record["nachrichtenkopf.g2g"]["identifikation.nachricht"].pop("nachrichtenUUID")
    assert records[0] == records[1]


async def test_status_url_shows_the_timeline_and_nothing_without_the_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/applications", content=(EXAMPLES / "hundeanmeldung.xml").read_bytes(), headers=XML
    )
    receipt = response.json()
    url = httpx.URL(receipt["statusUrl"])

    status = await client.get(url.path, params=dict(url.params))
    assert status.status_code == 200
    assert status.json()["status"] == "received"
    assert [e["status"] for e in status.json()["timeline"]] == ["received"]

    token = url.params["token"]
    one_off = token[:-1] + ("B" if token.endswith("A") else "A")  # never the token itself
    for params in ({}, {"token": "wrong"}, {"token": one_off}):
        denied = await client.get(url.path, params=params)
        assert denied.status_code == 404
        assert denied.headers["content-type"] == "application/problem+json"


async def test_invalid_application_is_refused_with_every_violation_and_stores_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
) -> None:
    body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    broken = break_postcode(body)
    response = await client.post("/v1/applications", content=broken, headers=XML)

    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "invalid"
    first = problem["invalid_params"][0]
    assert first["code"] == "xml.schema"
    assert first["line"] > 1 and "column" in first and "postleitzahl" in first["xpath"]
    assert await nothing_stored(runtime, settings)


async def test_business_rule_violation_is_422_with_its_own_code(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
) -> None:
    document = orjson.loads((EXAMPLES / "hundeanmeldung.json").read_bytes())
    mandate = document.get("sepaMandat") or document.get("lastschriftmandat")
    iban_holder = mandate if mandate is not None else document
    _replace_iban(iban_holder)
    response = await client.post("/v1/applications", content=orjson.dumps(document), headers=JSON)
    assert response.status_code == 422, response.text
    codes = {p["code"] for p in response.json()["invalid_params"]}
    assert "iban.checksum" in codes
    assert await nothing_stored(runtime, settings)


def _replace_iban(node: object) -> bool:
    """Break the check digits of the first IBAN found in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "iban" and isinstance(value, str):
                node[key] = value[:2] + ("00" if value[2:4] != "00" else "01") + value[4:]
                return True
            if _replace_iban(value):
                return True
    if isinstance(node, list):
        return any(_replace_iban(item) for item in node)
    return False


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"<a><b></a>", XML, 400, "malformed"),
        (b"", XML, 400, "malformed"),
        (b"{not json", JSON, 400, "malformed"),
        (b"[1, 2]", JSON, 400, "malformed"),
        (b'<x xmlns="urn:unknown:form"/>', XML, 422, "unknown_form"),
        (b'{"$schema": "urn:unknown:form"}', JSON, 422, "unknown_form"),
        (b"{}", JSON, 422, "unknown_form"),
        (b"hello", {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b"hello", {}, 415, "unsupported_media_type"),
    ],
)
async def test_bad_requests_get_the_designed_problem_and_store_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = await client.post("/v1/applications", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert await nothing_stored(runtime, settings)


async def test_oversized_body_is_413_and_stores_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
) -> None:
    body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    settings.form_max_bytes = {"hundeanmeldung": len(body) + 100}
    padded = body + b"<!--" + b"x" * 4096 + b"-->"
    accepted = await client.post("/v1/applications", content=body, headers=XML)
    assert accepted.status_code == 202, "the unpadded document fits the cap"
    async with runtime.db.transaction() as session:
        await session.execute(delete(OutboxMessage))
        await session.execute(delete(StatusEvent))
        await session.execute(delete(Application))
        await session.execute(delete(InlineBlob))
    for path in blob_files(settings):
        path.unlink()
    response = await client.post("/v1/applications", content=padded, headers=XML)
    assert response.status_code == 413
    assert await nothing_stored(runtime, settings)


async def test_idempotency_key_replays_the_same_receipt_and_refuses_other_content(
    client: httpx.AsyncClient,
    runtime: Runtime,
) -> None:
    body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    headers = {**XML, "Idempotency-Key": "portal-4711"}
    first = await client.post("/v1/applications", content=body, headers=headers)
    again = await client.post("/v1/applications", content=body, headers=headers)
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await count(runtime, Application) == 1

    other = (EXAMPLES / "wohngeld.xml").read_bytes()
    conflict = await client.post("/v1/applications", content=other, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_conflict"
    assert await count(runtime, Application) == 1


async def test_forms_are_listed_with_their_schemas(client: httpx.AsyncClient) -> None:
    forms = (await client.get("/v1/forms")).json()
    assert {f["id"] for f in forms} == {"hundeanmeldung", "wohngeld-mietzuschuss"}
    for form in forms:
        xsd = await client.get(httpx.URL(form["links"]["xsd"]).path)
        assert xsd.status_code == 200 and b"<xs:schema" in xsd.content
        schema = await client.get(httpx.URL(form["links"]["jsonSchema"]).path)
        assert schema.status_code == 200
        assert schema.json()["type"] == "object"
    assert (await client.get("/schemas/xoev/../../pyproject.toml")).status_code == 404
    assert (await client.get("/v1/forms/nope")).status_code == 404


@pytest.mark.parametrize(
    ("example", "headers"), [("hundeanmeldung.xml", XML), ("wohngeld.json", JSON)]
)
async def test_the_same_message_sent_again_is_filed_once(
    client: httpx.AsyncClient, runtime: Runtime, example: str, headers: dict[str, str]
) -> None:
    body = (EXAMPLES / example).read_bytes()
    first = await client.post("/v1/applications", content=body, headers=headers)
    repeats = [
        await client.post("/v1/applications", content=body, headers=headers) for _ in range(5)
    ]
    assert first.status_code == 202, first.text
    assert [r.status_code for r in repeats] == [200] * 5
    assert all(r.json() == first.json() for r in repeats)
    assert all(r.headers["location"] == first.headers["location"] for r in repeats)
    assert await count(runtime, Application) == 1


async def test_the_same_nachrichten_uuid_with_other_content_is_refused_naming_it(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    message_uuid = "0b6e9c1f-3a52-4d7e-8f21-6c4d2a9b7e10"
    first = await client.post(
        "/v1/applications", content=new_message(body, message_uuid), headers=XML
    )
    assert first.status_code == 202, first.text
    other = new_message(break_nothing_but_the_name(body), message_uuid)
    conflict = await client.post("/v1/applications", content=other, headers=XML)
    assert conflict.status_code == 409, conflict.text
    problem = conflict.json()
    assert problem["code"] == "idempotency_conflict"
    assert message_uuid in problem["detail"]
    assert problem["invalid_params"][0]["name"] == "nachrichtenUUID"
    # The key is the message's own, whatever the portal's Idempotency-Key says.
    again = await client.post(
        "/v1/applications", content=other, headers={**XML, "Idempotency-Key": "new-key"}
    )
    assert again.status_code == 409
    assert await count(runtime, Application) == 1
    # A different UUID is a different message.
    fresh = new_message(other, "5d1c7b2a-9e48-4f06-b3a1-0c8e2f6d4b97")
    assert (await client.post("/v1/applications", content=fresh, headers=XML)).status_code == 202
    assert await count(runtime, Application) == 2


def break_nothing_but_the_name(document: bytes) -> bytes:
    """The same message with another dog's name: other content, still valid."""
    changed = document.replace(b"<hundesteuer:name>Emmi<", b"<hundesteuer:name>Bello<")
    assert changed != document
    return changed


async def test_an_empty_idempotency_key_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    response = await client.post(
        "/v1/applications", content=body, headers={**XML, "Idempotency-Key": ""}
    )
    assert response.status_code == 400, response.text
    assert "Idempotency-Key" in response.json()["detail"]
    assert await count(runtime, Application) == 0


async def _chunked(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 65536):
        yield body[start : start + 65536]


@pytest.mark.parametrize(
    ("example", "headers", "pad"),
    [
        ("hundeanmeldung.xml", XML, lambda body, n: body + b"<!--" + b"x" * n + b"-->"),
        ("hundeanmeldung.json", JSON, lambda body, n: body + b" " * n),
    ],
    ids=["xml", "json"],
)
async def test_too_large_names_the_limit_in_bytes_for_sized_and_chunked_uploads(
    client: httpx.AsyncClient,
    example: str,
    headers: dict[str, str],
    pad: Callable[[bytes, int], bytes],
) -> None:
    limit = 2 * 1024 * 1024  # the Hundeanmeldung's own limit
    body = pad((EXAMPLES / example).read_bytes(), 3 * 1024 * 1024)
    sized = await client.post("/v1/applications", content=body, headers=headers)
    chunked = await client.post("/v1/applications", content=_chunked(body), headers=headers)
    assert "content-length" not in chunked.request.headers
    assert sized.status_code == chunked.status_code == 413
    detail = sized.json()["detail"]
    assert f"{limit} bytes" in detail and "hundeanmeldung" in detail, detail
    assert chunked.json()["detail"] == detail
