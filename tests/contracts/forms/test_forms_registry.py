"""The registry contract other contexts build on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from contracts.forms import FORMS, FormSpec, form_by_leika, form_by_namespace, schema_dir

SRC = Path(__file__).resolve().parents[3] / "src"


def test_the_two_forms() -> None:
    assert {spec.id: (spec.leika_key, spec.namespace, spec.root) for spec in FORMS.values()} == {
        "hundeanmeldung": (
            "99102013104000",
            "urn:eantrag:xoev:hundesteuer:1.0",
            "hundesteuer.anmeldung.0101",
        ),
        "wohngeld-mietzuschuss": (
            "99107023037000",
            "urn:eantrag:xoev:wohngeld:1.0",
            "wohngeld.mietzuschussAntrag.0101",
        ),
    }
    assert FORMS["hundeanmeldung"].title == "Hundesteuer – Anmeldung eines Hundes"
    assert FORMS["hundeanmeldung"].max_bytes == 2 * 1024 * 1024
    assert FORMS["wohngeld-mietzuschuss"].max_bytes == 20 * 1024 * 1024


def test_spec_is_consistent(spec: FormSpec) -> None:
    assert len(spec.leika_key) == 14 and spec.leika_key.startswith("99")
    assert spec.leika_urn == f"urn:de:fim:leika:leistung:{spec.leika_key}"
    assert spec.xsd_path.is_absolute() and spec.xsd_path.is_file()
    assert schema_dir() in spec.xsd_path.parents
    assert spec.model.xml_namespace == spec.namespace  # type: ignore[attr-defined]
    assert spec.model.xml_root == spec.root  # type: ignore[attr-defined]


def test_lookups(spec: FormSpec) -> None:
    assert form_by_namespace(spec.namespace) is spec
    assert form_by_leika(spec.leika_key) is spec
    assert form_by_leika(spec.leika_urn) is spec


def test_unknown_lookups_give_none() -> None:
    assert form_by_namespace("urn:eantrag:xoev:hundesteuer:2.0") is None
    assert form_by_namespace("") is None
    assert form_by_leika("99102013070000") is None  # Abmeldung: not offered
    assert form_by_leika("urn:de:fim:leika:leistung:") is None


def test_applicant_place(spec: FormSpec, example_record: dict[str, Any]) -> None:
    expected = {
        "hundeanmeldung": ("01069", "146120000000"),
        "wohngeld-mietzuschuss": ("04109", "147130000000"),
    }
    assert spec.applicant_place(example_record) == expected[spec.id]


def test_applicant_place_without_ars(dog: dict[str, Any]) -> None:
    del dog["halter"]["anschrift"]["ars"]
    assert FORMS["hundeanmeldung"].applicant_place(dog) == ("01069", None)
    assert FORMS["hundeanmeldung"].applicant_place({}) == (None, None)


def test_attachment_refs(dog: dict[str, Any], wohngeld: dict[str, Any]) -> None:
    assert FORMS["hundeanmeldung"].attachment_refs(dog) == []
    refs = FORMS["wohngeld-mietzuschuss"].attachment_refs(wohngeld)
    assert [(ref["art"]["code"], ref["anlageId"]) for ref in refs] == [
        ("mietvertrag", "dea8d99e-0233-41d7-99ed-adc7bc587db0"),
        ("einkommensnachweis", "91b29331-a044-41a3-8a74-7f21f6443d12"),
    ]
    refs[0]["dateiname"] = "changed.pdf"
    assert wohngeld["anlage"][0]["dateiname"] != "changed.pdf"
    assert FORMS["wohngeld-mietzuschuss"].attachment_refs({}) == []


def test_schema_dir_can_be_overridden(tmp_path: Path) -> None:
    code = "from contracts.forms import FORMS; print(FORMS['hundeanmeldung'].xsd_path)"
    env = {**os.environ, "PYTHONPATH": str(SRC), "EANTRAG_SCHEMA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert (
        Path(result.stdout.strip())
        == tmp_path.resolve() / "hundesteuer" / "1.0" / "hundesteuer.xsd"
    )
