"""Errors that say what to fix: the words a portal developer reads in a refusal."""

from __future__ import annotations

import json
import re

import httpx

from tests.conftest import EXAMPLES

XML = {"content-type": "application/xml"}
JSON = {"content-type": "application/json"}
DOG_XML = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
DOG_JSON = (EXAMPLES / "hundeanmeldung.json").read_bytes()
ARS_REASON = "ars: a 12-digit Regionalschlüssel (pad with zeros: 146120000000)"


def reasons(response: httpx.Response) -> list[str]:
    return [p["reason"] for p in response.json().get("invalid_params", [])]


async def test_a_short_ars_is_explained_alike_in_xml_and_json(client: httpx.AsyncClient) -> None:
    xml = re.sub(rb"<basis:ars>\d+</basis:ars>", b"<basis:ars>14</basis:ars>", DOG_XML)
    document = json.loads(DOG_JSON)
    document["halter"]["anschrift"]["ars"] = "14"
    as_xml = await client.post("/v1/applications", content=xml, headers=XML)
    as_json = await client.post("/v1/applications", json=document)
    assert as_xml.status_code == as_json.status_code == 422
    assert reasons(as_xml) == reasons(as_json) == [ARS_REASON]


async def test_a_wrong_code_lists_the_allowed_ones_without_pydantic_words(
    client: httpx.AsyncClient,
) -> None:
    document = json.loads(DOG_JSON)
    document["hund"]["geschlecht"]["code"] = "x"
    response = await client.post("/v1/applications", json=document)
    assert response.status_code == 422
    (reason,) = reasons(response)
    assert "'m'" in reason and "'w'" in reason, reason
    assert not reason.startswith("Value error"), reason


async def test_an_unknown_form_lists_the_known_ones(client: httpx.AsyncClient) -> None:
    document = json.loads(DOG_JSON)
    document["$schema"] = "urn:eantrag:xoev:hundesteuer:9.9"
    xml = DOG_XML.replace(b"urn:eantrag:xoev:hundesteuer:1.0", b"urn:eantrag:xoev:hundesteuer:9.9")
    for response in (
        await client.post("/v1/applications", json=document),
        await client.post("/v1/applications", content=xml, headers=XML),
    ):
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert "hundeanmeldung" in detail and "wohngeld-mietzuschuss" in detail, detail
        assert "/v1/forms" in detail


async def test_json_that_is_not_utf8_is_told_so_with_the_position(
    client: httpx.AsyncClient,
) -> None:
    body = DOG_JSON.replace(b"Richter", "Müller".encode("latin-1"))
    response = await client.post("/v1/applications", content=body, headers=JSON)
    assert response.status_code == 400
    (violation,) = response.json()["invalid_params"]
    offset = body.index(b"M\xfcller") + 1
    line = body.count(b"\n", 0, offset) + 1
    assert violation["reason"].startswith("JSON must be UTF-8"), violation
    assert violation["line"] == line and f"byte offset {offset}" in violation["reason"]


async def test_a_byte_order_mark_is_accepted_alike_for_json_and_xml(
    client: httpx.AsyncClient,
) -> None:
    bom = b"\xef\xbb\xbf"
    as_json = await client.post("/v1/applications", content=bom + DOG_JSON, headers=JSON)
    as_xml = await client.post("/v1/applications", content=bom + DOG_XML, headers=XML)
    assert as_json.status_code == as_xml.status_code == 202, (as_json.text, as_xml.text)


async def test_xml_missing_several_elements_says_the_list_may_stop_at_the_first(
    client: httpx.AsyncClient,
) -> None:
    missing = re.sub(
        rb"<basis:(familienname|vorname|geburtsdatum)>[^<]*</basis:\1>\s*", b"", DOG_XML, count=3
    )
    response = await client.post("/v1/applications", content=missing, headers=XML)
    assert response.status_code == 422
    assert "first missing or unexpected child" in response.json()["detail"]
    assert "familienname" in reasons(response)[0]
