"""Problems in one shape: `type` URIs in one scheme, and the OpenAPI document says so."""

from __future__ import annotations

import json
import re
import uuid

import httpx

from tests.conftest import ROOT

TYPE = re.compile(r"^https://eantrag\.de/problems/[a-z0-9]+(-[a-z0-9]+)*$")


async def test_every_problem_type_uri_follows_one_scheme(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/no/such/path"),
        await client.get(f"/v1/applications/{uuid.uuid4()}?token=x"),
        await client.get("/v1/applications/not-a-uuid"),
        await client.post("/v1/applications", content=b"<a", headers={"content-type": "text/xml"}),
        await client.post("/v1/applications", content=b"{}", headers={"content-type": "text/csv"}),
        await client.get("/v1/cases"),
    ]
    for answer in answers:
        problem = answer.json()
        assert answer.headers["content-type"] == "application/problem+json"
        assert TYPE.match(problem["type"]), problem["type"]
        code = problem["code"].replace(".", "-").replace("_", "-")
        assert problem["type"] == "https://eantrag.de/problems/" + code


def test_the_openapi_document_lists_problem_json_for_every_error() -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    plain = [
        f"{method.upper()} {path} {status}"
        for path, operations in document["paths"].items()
        if path != "/readyz"
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if status[0] in "45" and list(response.get("content", {})) != ["application/problem+json"]
    ]
    assert plain == []
