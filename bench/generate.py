"""Generated Wohngeld applications of a chosen size, valid against the form schema.

The schema caps what a real household can declare (20 members, 20 incomes each), so a document
grows first by members and incomes, then by attachments carried inline (`anlage/inhalt`, Base64)
of at most `ANLAGE_BYTES` each — a 100 MB application is a full household plus many scanned
proofs, which is what such a document looks like in practice. The smallest size is a household
of one with no attachment. Content bytes are pseudo-random (incompressible, like a PDF scan) and
the same for the same size.
"""

from __future__ import annotations

import base64
import copy
import random
from pathlib import Path
from typing import Any, cast

import orjson

from contracts.forms import FORMS
from contracts.forms.xmlmodel import XmlRoot, record_to_xml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WOHNGELD = FORMS["wohngeld-mietzuschuss"]
MAX_MEMBERS = 20
MAX_INCOMES = 20
MAX_ANLAGEN = 50
ANLAGE_BYTES = 4 * 1024 * 1024
KINDS = ["nichtselbststaendig", "rente", "unterhalt", "krankengeld", "sonstiges"]


def example() -> dict[str, Any]:
    return dict(orjson.loads((EXAMPLES / "wohngeld.json").read_bytes()))


def _size(record: dict[str, Any]) -> int:
    return len(_unchecked(record))


def _unchecked(record: dict[str, Any]) -> bytes:
    # The form's own writer validates the record first, which takes long on 100 MB; the
    # benchmarks check every document with xmllint anyway.
    return record_to_xml(record, cast(type[XmlRoot], WOHNGELD.model))


def smallest() -> dict[str, Any]:
    """The example cut to the applicant alone: no income, no attachment, no optional parts."""
    record = example()
    applicant = copy.deepcopy(record["haushaltsmitglied"][0])
    applicant.pop("einkommen", None)
    record["haushaltsmitglied"] = [applicant]
    record.pop("anlage", None)
    for optional in ("produkt", "produkthersteller", "produktversion", "test"):
        record.pop(optional, None)
    record["antragsteller"].pop("kontakt", None)
    record["wohnung"].pop("heizkosten", None)
    record["wohnung"].pop("nebenkosten", None)
    return record


def _member(template: dict[str, Any], index: int) -> dict[str, Any]:
    member = copy.deepcopy(template)
    member["vorname"] = f"Mitglied{index:02d}"
    member["verwandtschaftsverhaeltnis"] = {"code": "verwandt"}
    return member


def _income(index: int) -> dict[str, Any]:
    return {
        "art": {"code": KINDS[index % len(KINDS)]},
        "betrag": f"{100 + index}.00",
        "zeitraum": {"code": "monatlich"},
    }


def _anlage(index: int, content: bytes) -> dict[str, Any]:
    return {
        "art": {"code": "sonstiges"},
        "dateiname": f"Nachweis_{index:02d}.pdf",
        "inhalt": base64.b64encode(content).decode("ascii"),
    }


def wohngeld_record(target_bytes: int, seed: int = 1) -> dict[str, Any]:
    """A valid record whose XML is about `target_bytes` long (never below the smallest)."""
    record = smallest()
    if _size(record) >= target_bytes:
        return record
    template = {k: v for k, v in record["haushaltsmitglied"][0].items() if k != "einkommen"}
    members = record["haushaltsmitglied"]
    while len(members) < MAX_MEMBERS and _size(record) < target_bytes:
        members.append(_member(template, len(members)))
    for member in members:
        while len(member.setdefault("einkommen", [])) < MAX_INCOMES:
            member["einkommen"].append(_income(len(member["einkommen"])))
            if _size(record) >= target_bytes:
                return record
    rng = random.Random(seed)
    before = _size(record)
    record["anlage"] = [_anlage(0, b"x")]
    markup = _size(record) - before - len(record["anlage"][0]["inhalt"])
    record["anlage"] = []
    missing = target_bytes - before
    while missing > markup and len(record["anlage"]) < MAX_ANLAGEN:
        # Base64 takes 4 characters for 3 bytes.
        content = min(ANLAGE_BYTES, max(1, (missing - markup) * 3 // 4))
        anlage = _anlage(len(record["anlage"]), rng.randbytes(content))
        record["anlage"].append(anlage)
        missing -= markup + len(anlage["inhalt"])
    return record


def wohngeld_xml(target_bytes: int, seed: int = 1) -> bytes:
    """The XML of `wohngeld_record(target_bytes)`, the record validated first."""
    return WOHNGELD.record_to_xml(wohngeld_record(target_bytes, seed))


def wohngeld_xml_unchecked(target_bytes: int, seed: int = 1) -> bytes:
    """The same XML without validating the record first (fast for large sizes)."""
    return _unchecked(wohngeld_record(target_bytes, seed))


def wohngeld_json(target_bytes: int, seed: int = 1) -> bytes:
    """The JSON twin (the same record), for the JSON path."""
    return orjson.dumps(wohngeld_record(target_bytes, seed))
