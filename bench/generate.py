"""Generated applications of a chosen size, valid against the form schemas.

A Wohngeld household grows by members (each with its income lines) until the document reaches
the target size; every new member has a distinct first name, so the household rules still hold.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

from intake.forms import FORMS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WOHNGELD = FORMS["wohngeld-mietzuschuss"]


def _example() -> dict[str, Any]:
    return dict(orjson.loads((EXAMPLES / "wohngeld.json").read_bytes()))


def _with_members(record: dict[str, Any], template: dict[str, Any], count: int) -> dict[str, Any]:
    grown = copy.deepcopy(record)
    for index in range(count):
        member = copy.deepcopy(template)
        member["vorname"] = f"Mitglied{index:07d}"
        grown["haushaltsmitglied"].append(member)
    return grown


def wohngeld_xml(target_bytes: int) -> bytes:
    """A valid Wohngeld application of about `target_bytes` (at least the example's size)."""
    record = _example()
    members = record["haushaltsmitglied"]
    template = next((m for m in members[1:] if m.get("einkommen")), members[-1])
    base = len(WOHNGELD.record_to_xml(record))
    per_member = len(WOHNGELD.record_to_xml(_with_members(record, template, 1))) - base
    count = max(0, (target_bytes - base) // max(per_member, 1))
    return WOHNGELD.record_to_xml(_with_members(record, template, count))
