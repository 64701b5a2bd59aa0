"""FIT-Connect-style submissions: metadata checked against the official schema, every hash
verified, every part accounted for."""

from __future__ import annotations

import hashlib
import json

import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from contracts.forms import FORMS
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from intake import fitconnect
from intake.models import Application, Attachment
from tests.conftest import EXAMPLES, new_message, shared_dir
from tests.intake.test_submit import nothing_stored

WOHNGELD = FORMS["wohngeld-mietzuschuss"]
DOG = FORMS["hundeanmeldung"]


def wohngeld_submission(**changes: object) -> tuple[bytes, str, dict, list]:
    from bootstrap.demo import example_attachments

    data = (EXAMPLES / "wohngeld.xml").read_bytes()
    attachments = example_attachments(WOHNGELD, data)
    metadata = fitconnect.metadata_for(WOHNGELD, data, "application/xml", attachments)
    return data, "application/xml", metadata, attachments


def official_metadata_validator() -> Draft202012Validator:
    path = shared_dir("fitconnect", "metadata.schema.v1.0.0.json")
    return Draft202012Validator(json.loads(path.read_text()))


async def post(client: httpx.AsyncClient, body: bytes, content_type: str) -> httpx.Response:
    return await client.post(
        "/v1/applications", content=body, headers={"content-type": content_type}
    )


async def test_submission_with_attachments_is_accepted_and_metadata_is_official(
    client: httpx.AsyncClient,
    runtime: Runtime,
) -> None:
    data, media, metadata, attachments = wohngeld_submission()
    assert attachments, "the Wohngeld example announces attachments"
    official_metadata_validator().validate(metadata)
    body, content_type = fitconnect.submission(WOHNGELD, data, media, attachments, metadata)

    response = await post(client, body, content_type)
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["sha512"] == hashlib.sha512(data).hexdigest()
    assert receipt["service"] == WOHNGELD.leika_urn

    async with runtime.db.sessionmaker() as session:
        app = await session.scalar(select(Application))
        stored = (await session.scalars(select(Attachment))).all()
    assert app is not None and app.submission_metadata == metadata
    official_metadata_validator().validate(app.submission_metadata)
    assert {a.attachment_id for a in stored} == {a.attachment_id for a in attachments}
    for row in stored:
        content = b"".join([c async for c in runtime.blobs.read(row.blob_key)])
        assert hashlib.sha512(content).hexdigest() == row.sha512


async def test_json_data_part_is_accepted(client: httpx.AsyncClient) -> None:
    data = (EXAMPLES / "hundeanmeldung.json").read_bytes()
    body, content_type = fitconnect.submission(DOG, data, "application/json")
    response = await post(client, body, content_type)
    assert response.status_code == 202, response.text


def _tamper_hash(metadata: dict, where: str) -> dict:
    metadata = json.loads(json.dumps(metadata))
    target = (
        metadata["contentStructure"]["data"]
        if where == "data"
        else metadata["contentStructure"]["attachments"][0]
    )
    target["hash"]["content"] = hashlib.sha512(b"something else").hexdigest()
    return metadata


@pytest.mark.parametrize("where", ["data", "attachment"])
async def test_wrong_hash_is_rejected_and_nothing_stored(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    where: str,
) -> None:
    data, media, metadata, attachments = wohngeld_submission()
    body, content_type = fitconnect.submission(
        WOHNGELD, data, media, attachments, _tamper_hash(metadata, where)
    )
    response = await post(client, body, content_type)
    assert response.status_code == 400
    codes = {p["code"] for p in response.json()["invalid_params"]}
    assert codes == {"fitconnect.hash_mismatch"}
    assert await nothing_stored(runtime, settings)


async def test_metadata_violating_the_official_schema_is_422(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
) -> None:
    data = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    metadata = fitconnect.metadata_for(DOG, data, "application/xml", [])
    metadata["contentStructure"]["data"]["hash"]["type"] = "md5"
    body, content_type = fitconnect.submission(DOG, data, "application/xml", [], metadata)
    response = await post(client, body, content_type)
    assert response.status_code == 422
    assert response.json()["invalid_params"][0]["code"] == "fitconnect.metadata"
    assert await nothing_stored(runtime, settings)


async def test_service_must_match_the_form(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
) -> None:
    data = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    metadata = fitconnect.metadata_for(DOG, data, "application/xml", [])
    metadata["publicServiceType"]["identifier"] = WOHNGELD.leika_urn
    body, content_type = fitconnect.submission(DOG, data, "application/xml", [], metadata)
    response = await post(client, body, content_type)
    assert response.status_code == 422
    assert response.json()["invalid_params"][0]["code"] == "fitconnect.service_mismatch"
    assert await nothing_stored(runtime, settings)


async def test_missing_extra_and_unannounced_parts_are_rejected(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
) -> None:
    data, media, metadata, attachments = wohngeld_submission()
    meta = orjson.dumps(metadata)
    cases = {
        "no metadata": [("data", media, data, None)],
        "no data": [("metadata", "application/json", meta, None)],
        "attachment missing": [
            ("metadata", "application/json", meta, None),
            ("data", media, data, None),
        ],
        "unannounced part": [
            ("metadata", "application/json", meta, None),
            ("data", media, data, None),
            *[(a.attachment_id, a.media_type, a.content, a.filename) for a in attachments],
            ("surprise", "application/pdf", b"%PDF-1.4", "x.pdf"),
        ],
        "duplicate part": [
            ("metadata", "application/json", meta, None),
            ("metadata", "application/json", meta, None),
        ],
    }
    for name, parts in cases.items():
        body, content_type = fitconnect.multipart_body(parts)
        response = await post(client, body, content_type)
        assert response.status_code == 400, (name, response.text)
        assert response.json()["code"] in {"bad_submission"}, name
    assert await nothing_stored(runtime, settings)


@pytest.mark.parametrize(
    "filename", ["../../etc/passwd", "a/b.pdf", "evil\x07.pdf", "..\\win.pdf", "line\nbreak.pdf"]
)
async def test_path_traversal_and_control_characters_in_file_names_are_rejected(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    filename: str,
) -> None:
    data, media, _metadata, attachments = wohngeld_submission()
    evil = [
        fitconnect.OutgoingAttachment(a.attachment_id, a.content, a.media_type, filename)
        for a in attachments
    ]
    body, content_type = fitconnect.submission(WOHNGELD, data, media, evil)
    response = await post(client, body, content_type)
    assert response.status_code == 400, response.text
    assert await nothing_stored(runtime, settings)


async def test_oversized_attachment_is_413(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
) -> None:
    settings.attachment_max_bytes = 1024
    data, media, _metadata, attachments = wohngeld_submission()
    big = [
        fitconnect.OutgoingAttachment(
            a.attachment_id, a.content + b"0" * 2048, a.media_type, a.filename
        )
        for a in attachments
    ]
    body, content_type = fitconnect.submission(WOHNGELD, data, media, big)
    response = await post(client, body, content_type)
    assert response.status_code == 413
    assert await nothing_stored(runtime, settings)


async def test_a_submission_id_is_a_natural_idempotency_key(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    submission_id = "4b0c8a3e-6f2d-4e91-a7b5-1d9c3e8f2a60"

    def with_id(data: bytes) -> tuple[bytes, str]:
        metadata = fitconnect.metadata_for(DOG, data, "application/xml", [])
        parts = [
            ("metadata", "application/json", orjson.dumps(metadata), None),
            ("data", "application/xml", data, None),
            ("submissionId", "text/plain", submission_id.encode(), None),
        ]
        return fitconnect.multipart_body(parts)

    dog = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    first = await post(client, *with_id(new_message(dog)))
    again_body = with_id(new_message(dog))  # another message in the same submission: a repeat
    assert first.status_code == 202, first.text
    conflict = await post(client, *again_body)
    assert conflict.status_code == 409, conflict.text
    assert submission_id in conflict.json()["detail"]
    async with runtime.db.sessionmaker() as session:
        stored = (await session.scalars(select(Application.submission_id))).all()
    assert stored == [submission_id]

    submission_id = "not-a-uuid"
    bad = await post(client, *with_id(new_message(dog)))
    assert bad.status_code == 400, bad.text
    assert bad.json()["invalid_params"][0]["code"] == "multipart.bad_submission_id"


async def test_metadata_naming_another_form_than_the_data_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    data = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    metadata = fitconnect.metadata_for(DOG, data, "application/xml", [])
    metadata["contentStructure"]["data"]["submissionSchema"]["schemaUri"] = WOHNGELD.namespace
    body, content_type = fitconnect.submission(DOG, data, "application/xml", [], metadata)
    response = await post(client, body, content_type)
    assert response.status_code == 422, response.text
    assert response.json()["invalid_params"][0]["code"] == "fitconnect.schema_mismatch"
    assert await nothing_stored(runtime, settings)
