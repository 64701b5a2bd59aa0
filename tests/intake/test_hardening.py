"""Hostile XML: no DOCTYPE, no entity expansion, no file or network access, no stored trace."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import httpx
import pytest
from lxml import etree

from contracts.forms import FORMS
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from intake.errors import Invalid, Malformed
from intake.xmlstream import XmlStreamValidator, validate_xml_chunks
from intake.xsd import schema_for
from tests.conftest import EXAMPLES, break_postcode
from tests.intake.test_submit import nothing_stored

XML = {"content-type": "application/xml"}
DOG = (EXAMPLES / "hundeanmeldung.xml").read_bytes()


def with_doctype(doctype: str, body: bytes = DOG, entity_ref: bytes = b"") -> bytes:
    """Insert a DOCTYPE before the root element and an entity reference into the owner's name."""
    head, sep, rest = body.partition(b"<hundesteuer:hundesteuer.anmeldung.0101")
    assert sep, "the example has the expected root element"
    document = head + doctype.encode() + b"\n" + sep + rest
    if entity_ref:
        document = document.replace(b"<basis:vorname>", b"<basis:vorname>" + entity_ref, 1)
        assert entity_ref in document
    return document


def no_reader_opened(fifo: Path) -> bool:
    """A FIFO can be opened for writing without blocking only if someone opened it to read."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        return exc.errno == errno.ENXIO
    os.close(fd)
    return False


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE r [<!ENTITY e SYSTEM "file://{fifo}">]>',
        '<!DOCTYPE r [<!ENTITY % p SYSTEM "file://{fifo}"> %p;]>',
        '<!DOCTYPE r SYSTEM "file://{fifo}">',
        '<!DOCTYPE r [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>',
    ],
)
async def test_external_entities_are_refused_and_never_opened(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    tmp_path: Path,
    doctype: str,
) -> None:
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    body = with_doctype(
        doctype.format(fifo=fifo), entity_ref=b"&e;" if "ENTITY e" in doctype else b""
    )
    response = await asyncio.wait_for(
        client.post("/v1/applications", content=body, headers=XML), timeout=10
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    assert response.json()["invalid_params"][0]["code"] == "xml.doctype_forbidden"
    assert no_reader_opened(fifo)
    assert await nothing_stored(runtime, settings)


async def test_billion_laughs_is_refused_quickly(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
) -> None:
    entities = ['<!ENTITY l0 "ha">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    body = with_doctype("<!DOCTYPE r [" + "".join(entities) + "]>", entity_ref=b"&l9;")
    response = await asyncio.wait_for(
        client.post("/v1/applications", content=body, headers=XML), timeout=10
    )
    assert response.status_code == 400
    assert await nothing_stored(runtime, settings)


def test_doctype_without_entities_is_refused_too() -> None:
    with pytest.raises(Malformed) as caught:
        validate_xml_chunks([with_doctype("<!DOCTYPE hundesteuer.anmeldung.0101>")])
    assert caught.value.violations[0].code == "xml.doctype_forbidden"


def test_validation_happens_when_fed_in_tiny_chunks() -> None:
    """The form is chosen mid-stream; the replayed prefix must still be validated."""
    broken = break_postcode(DOG)
    with pytest.raises(Invalid):
        validate_xml_chunks([broken[i : i + 7] for i in range(0, len(broken), 7)])
    accepted = validate_xml_chunks([DOG[i : i + 7] for i in range(0, len(DOG), 7)])
    assert accepted.form.id == "hundeanmeldung"


def test_trailing_garbage_after_a_valid_document_is_malformed() -> None:
    with pytest.raises(Malformed):
        validate_xml_chunks([DOG, b"<extra/>"])


def test_a_target_parser_would_skip_validation_so_the_validator_uses_none() -> None:
    """The known lxml hazard: with target= the schema is silently ignored. Guard our choice."""

    class Collect:
        def start(self, *_a: object) -> None: ...
        def end(self, *_a: object) -> None: ...
        def data(self, *_a: object) -> None: ...
        def close(self) -> str:
            return "done"

    broken = break_postcode(DOG)
    hazardous = etree.XMLParser(schema=schema_for("hundeanmeldung"), target=Collect())
    assert etree.fromstring(broken, hazardous) == "done"  # invalid, yet no error
    validator = XmlStreamValidator()
    validator.feed(broken)
    with pytest.raises(Invalid):
        validator.close()


def test_every_form_schema_compiles() -> None:
    for form_id in FORMS:
        assert schema_for(form_id) is not None
