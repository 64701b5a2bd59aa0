"""Application records for rendering tests: the examples, and a Wohngeld household of six."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CODE_LIST = "urn:eantrag:codeliste:"


def example(name: str) -> dict[str, Any]:
    return dict(orjson.loads((EXAMPLES / f"{name}.json").read_bytes()))


def _code(liste: str, code: str) -> dict[str, str]:
    return {"code": code, "listURI": CODE_LIST + liste, "listVersionID": "1"}


def wohngeld_six() -> dict[str, Any]:
    """The Wohngeld example with six household members (the example has three)."""
    record = example("wohngeld")
    members = record["haushaltsmitglied"]
    more = [
        ("Weber", "Jonas", "1986-03-12", "partner", ("nichtselbststaendig", "1234.56")),
        ("Krüger", "Brigitte", "1958-07-30", "elternteil", ("rente", "987.10")),
        ("Krüger", "Mia", "2021-11-23", "kind", None),
    ]
    for family, given, born, relation, income in more:
        member: dict[str, Any] = {
            "familienname": family,
            "vorname": given,
            "geburtsdatum": born,
            "verwandtschaftsverhaeltnis": _code("verwandtschaftsverhaeltnis", relation),
        }
        if income:
            member["einkommen"] = [
                {
                    "art": _code("einkommensart", income[0]),
                    "betrag": income[1],
                    "zeitraum": _code("zeitraum", "monatlich"),
                }
            ]
        members.append(copy.deepcopy(member))
    assert len(members) == 6
    return record
