"""Shared fixtures: the forms and their example documents."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from contracts.forms import FORMS, FormSpec

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
STEM = {"hundeanmeldung": "hundeanmeldung", "wohngeld-mietzuschuss": "wohngeld"}


def _json(form_id: str) -> dict[str, Any]:
    """The JSON example as the exact twin of the XML one.

    The two examples are messages of their own (a repeated nachrichtenUUID is a repeat of the
    message), so the twin takes the XML example's nachrichtenUUID.
    """
    record: dict[str, Any] = json.loads(
        (EXAMPLES / f"{STEM[form_id]}.json").read_text(encoding="utf-8")
    )
    xml = etree.parse(str(EXAMPLES / f"{STEM[form_id]}.xml"))
    (message_uuid,) = xml.xpath("//*[local-name()='nachrichtenUUID']/text()")
    record["nachrichtenkopf.g2g"]["identifikation.nachricht"]["nachrichtenUUID"] = message_uuid
    return record


@pytest.fixture(params=sorted(FORMS))
def spec(request: pytest.FixtureRequest) -> FormSpec:
    """Each form in turn."""
    return FORMS[request.param]


@pytest.fixture
def example_record(spec: FormSpec) -> dict[str, Any]:
    """The JSON example of the form (a fresh copy)."""
    return _json(spec.id)


@pytest.fixture
def example_xml(spec: FormSpec) -> Path:
    """The XML twin of the JSON example."""
    return EXAMPLES / f"{STEM[spec.id]}.xml"


@pytest.fixture
def xml_schema(spec: FormSpec) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(spec.xsd_path)))


@pytest.fixture
def today() -> date:
    """A fixed 'today' after every date in the examples."""
    return date(2026, 11, 23)


@pytest.fixture
def dog() -> dict[str, Any]:
    """The dog example, to spoil."""
    return copy.deepcopy(_json("hundeanmeldung"))


@pytest.fixture
def wohngeld() -> dict[str, Any]:
    """The Wohngeld example, to spoil."""
    return copy.deepcopy(_json("wohngeld-mietzuschuss"))
