"""The messages between the contexts and their AsyncAPI document must not drift apart, and each
message survives its own way onto the wire and back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from contracts.application import (
    AUTHORITY_MESSAGE_TYPE,
    AttachmentDocument,
    AuthorityMessage,
    AuthorityRef,
    Document,
    ReceivedApplication,
    RoutingInfo,
    UnroutableApplication,
    delivery_message_id,
)
from contracts.message import Message
from contracts.status import CITIZEN_STATUSES, StatusChanged
from eantrag.broker import AUTHORITIES_EXCHANGE, EVENTS_EXCHANGE, INTAKE_EXCHANGE, PermanentError

ASYNCAPI = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text())
    return document


def merged(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its `$ref`s and `allOf` parts resolved into properties and required."""
    if "$ref" in schema:
        return merged(document, document["components"]["schemas"][schema["$ref"].rsplit("/")[-1]])
    if "allOf" in schema:
        out: dict[str, Any] = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            part = merged(document, part)
            out["properties"].update(part["properties"])
            out["required"] += part.get("required", [])
        return out
    return schema


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    return merged(document, document["components"]["schemas"][name])


def payload_of(document: dict[str, Any], message: str) -> dict[str, Any]:
    return merged(document, document["components"]["messages"][message]["payload"])


def assert_documents(model: type[Any], documented: dict[str, Any], name: str) -> None:
    generated = model.model_json_schema(by_alias=True)
    assert set(documented["properties"]) == set(generated["properties"]), name
    assert set(documented["required"]) >= set(generated.get("required", [])), name


def test_asyncapi_documents_every_field_of_the_v1_message() -> None:
    document = spec()
    assert document["asyncapi"].startswith("3.")
    assert set(document["channels"]) >= {"authorityInbox", "unroutable"}
    assert document["channels"]["authorityInbox"]["address"] == "authority.{authorityId}.inbox"
    for model, name in (
        (AuthorityMessage, "ApplicationV1"),
        (RoutingInfo, "RoutingInfo"),
        (Document, "Document"),
        (AttachmentDocument, "AttachmentDocument"),
        (ReceivedApplication, "ApplicationReceived"),
    ):
        assert_documents(model, schema_of(document, name), name)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (AuthorityMessage, "ApplicationV1"),
        (ReceivedApplication, "ApplicationReceived"),
        (UnroutableApplication, "ApplicationUnroutable"),
        (StatusChanged, "StatusEvent"),
    ],
)
def test_asyncapi_documents_every_message_between_the_contexts(
    model: type[Message], message: str
) -> None:
    document = spec()
    assert_documents(model, payload_of(document, message), message)
    name = document["components"]["messages"][message]["name"]
    assert name == model.message_type


def test_asyncapi_lists_every_status_of_the_timeline() -> None:
    status = payload_of(spec(), "StatusEvent")["properties"]["status"]
    assert set(status["enum"]) == set(CITIZEN_STATUSES)


NOW = datetime(2026, 12, 4, 16, 0, 0, 123456, tzinfo=UTC)
ORIGINAL = Document(
    blob_key="sha256/aa/bb/x",
    sha256="a" * 64,
    sha512="b" * 128,
    size=3,
    media_type="application/xml",
)


def received() -> ReceivedApplication:
    return ReceivedApplication(
        application_id=uuid.uuid4(),
        form_id="hundeanmeldung",
        leika_urn="urn:de:fim:leika:leistung:99102013104000",
        received_at=NOW,
        postleitzahl="01067",
        ars="146120000000",
        original=ORIGINAL,
        attachments=[
            AttachmentDocument(attachment_id="a1", purpose="attachment", **ORIGINAL.model_dump())
        ],
        record={"halter": {"name": "Muster"}},
    )


def round_trip(message: Message, **row: Any) -> tuple[dict[str, Any], Message]:
    out = message.outbox_row(**row)
    return out, type(message).parse(out["body"])


def test_received_goes_to_routing_and_back_unchanged() -> None:
    message = received()
    row, parsed = round_trip(message)
    assert (row["exchange"], row["routing_key"], row["type"]) == (
        INTAKE_EXCHANGE,
        "application.received",
        "application.received",
    )
    assert parsed == message
    body = orjson.loads(row["body"])
    assert body["applicationId"] == str(message.application_id)
    assert datetime.fromisoformat(body["receivedAt"]) == NOW


def test_the_authority_message_goes_to_the_authority_under_its_delivery_id() -> None:
    source = received()
    message = AuthorityMessage(
        application_id=source.application_id,
        form_id=source.form_id,
        leika_urn=source.leika_urn,
        received_at=source.received_at,
        authority=AuthorityRef(id="stadt-dresden", name="Stadt Dresden"),
        routing=RoutingInfo(matched_area_key="14612", ars="146120000000", decided_at=NOW),
        record=source.record,
        original=source.original,
        attachments=source.attachments,
    )
    row, parsed = round_trip(message, message_id=message.delivery_id)
    assert (row["exchange"], row["routing_key"], row["type"]) == (
        AUTHORITIES_EXCHANGE,
        "stadt-dresden",
        AUTHORITY_MESSAGE_TYPE,
    )
    assert row["message_id"] == delivery_message_id(source.application_id, "stadt-dresden")
    assert parsed == message


def test_unroutable_carries_the_reason_to_triage() -> None:
    message = UnroutableApplication(**dict(received()), reason="no authority", decided_at=NOW)
    row, parsed = round_trip(message)
    assert (row["routing_key"], row["type"]) == ("application.unroutable",) * 2
    assert isinstance(parsed, UnroutableApplication)
    assert parsed.reason == "no authority"
    assert parsed == message


@pytest.mark.parametrize("status", CITIZEN_STATUSES)
def test_a_status_change_is_keyed_by_its_status(status: str) -> None:
    message = StatusChanged.model_validate(
        {"application_id": uuid.uuid4(), "status": status, "at": NOW, "detail": {"x": 1}}
    )
    row, parsed = round_trip(message)
    assert (row["exchange"], row["routing_key"], row["type"]) == (
        EVENTS_EXCHANGE,
        f"application.{status}",
        f"application.{status}",
    )
    assert parsed == message


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"applicationId": "x", "status": "filed", "at": "2026-12-04T16:00:00+00:00"}',
        b'{"applicationId": "%s", "status": "lost", "at": "2026-12-04T16:00:00+00:00"}'
        % str(uuid.uuid4()).encode(),
        b'{"applicationId": "%s", "status": "filed", "at": "2026-12-04T16:00:00"}'
        % str(uuid.uuid4()).encode(),
    ],
)
def test_a_malformed_status_event_is_a_permanent_error(body: bytes) -> None:
    with pytest.raises(PermanentError, match=r"malformed application\.status"):
        StatusChanged.parse(body)


def test_a_malformed_delivery_names_the_message() -> None:
    with pytest.raises(PermanentError, match=r"malformed application\.received"):
        ReceivedApplication.parse(b'{"applicationId": "1"}')
    with pytest.raises(PermanentError, match=r"malformed eantrag\.application\.v1"):
        AuthorityMessage.parse(received().outbox_row()["body"])
