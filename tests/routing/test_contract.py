"""The authority message contract and its AsyncAPI document must not drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from contracts.application import AttachmentDocument, AuthorityMessage, Document, RoutingInfo

ASYNCAPI = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def schema_of(spec: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    if "allOf" in schema:
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            part = schema_of(spec, part["$ref"].rsplit("/", 1)[1]) if "$ref" in part else part
            merged["properties"].update(part["properties"])
            merged["required"] += part.get("required", [])
        return merged
    return schema


def test_asyncapi_documents_every_field_of_the_v1_message() -> None:
    spec = yaml.safe_load(ASYNCAPI.read_text())
    assert spec["asyncapi"].startswith("3.")
    assert set(spec["channels"]) >= {"authorityInbox", "unroutable"}
    assert spec["channels"]["authorityInbox"]["address"] == "authority.{authorityId}.inbox"
    for model, name in (
        (AuthorityMessage, "ApplicationV1"),
        (RoutingInfo, "RoutingInfo"),
        (Document, "Document"),
        (AttachmentDocument, "AttachmentDocument"),
    ):
        generated = model.model_json_schema(by_alias=True)
        documented = schema_of(spec, name)
        assert set(documented["properties"]) == set(generated["properties"]), name
        assert set(documented["required"]) >= set(generated.get("required", [])), name
