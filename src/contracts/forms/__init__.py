"""The application forms the intake accepts, each as XSD (XML) and pydantic model (JSON).

A form is found by its XML namespace (which JSON names in `"$schema"`) or by its LeiKa key. The
spec bundles everything the intake needs: schema location, model, record mapping, business rules,
and where in a record the applicant lives and which attachments it announces.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree
from pydantic import BaseModel

from contracts.forms import hundeanmeldung, wohngeld
from contracts.forms.rules import (
    SHARED_FIELDS,
    RuleViolation,
    get,
    message_type_rule,
    shared_rules,
)
from contracts.forms.xmlmodel import (
    BinaryHook,
    RecordReader,
    XmlRoot,
    outline,
    record_from_xml,
    record_to_xml,
    replace_binary,
)
from contracts.values import LEIKA_URN_PREFIX

__all__ = [
    "FORMS",
    "SCHEMA_DIR",
    "FormSpec",
    "RuleViolation",
    "form_by_leika",
    "form_by_namespace",
    "schema_dir",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MiB = 1024 * 1024


def _schema_dir() -> Path:
    """`schemas/xoev` of the repository, unless `EANTRAG_SCHEMA_DIR` points elsewhere."""
    override = os.environ.get("EANTRAG_SCHEMA_DIR")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[3] / "schemas" / "xoev"


SCHEMA_DIR = _schema_dir()


def schema_dir() -> Path:
    """The directory every form's XSD lies under (fixed when this package is imported)."""
    return SCHEMA_DIR


Rules = Callable[[dict[str, Any], date], list[RuleViolation]]


@dataclass(frozen=True)
class FormSpec:
    """One application form: identity, both schemas, mapping and rules."""

    id: str
    title: str
    leika_key: str
    namespace: str
    root: str
    xsd_path: Path
    model: type[BaseModel]
    max_bytes: int
    applicant: str = field(default="antragsteller", repr=False)
    attachments: str | None = field(default=None, repr=False)
    form_rules: Rules | None = field(default=None, repr=False)

    @property
    def leika_urn(self) -> str:
        return LEIKA_URN_PREFIX + self.leika_key

    @property
    def _root_model(self) -> type[XmlRoot]:
        if not issubclass(self.model, XmlRoot):
            raise TypeError(f"{self.model.__name__} does not describe an XÖV message")
        return self.model

    def record_from_xml(
        self, root: etree._Element, binary: BinaryHook | None = None
    ) -> dict[str, Any]:
        """The JSON-shaped record of a schema-valid message."""
        return record_from_xml(root, self._root_model, binary)

    def record_reader(self, binary: BinaryHook | None = None) -> RecordReader:
        """A reader that builds the record one child of the root at a time (streaming)."""
        return RecordReader(self._root_model, binary)

    def replace_binary(self, record: dict[str, Any], binary: BinaryHook) -> None:
        """Hand every Base64 value of a record to `binary` and keep what it returns instead."""
        replace_binary(record, self._root_model, binary)

    def record_to_xml(self, record: dict[str, Any] | BaseModel) -> bytes:
        """The XML message of a record or model; a dict is validated first, then kept verbatim."""
        if isinstance(record, BaseModel):
            data = record.model_dump(mode="json", by_alias=True, exclude_none=True)
        else:
            self.parse_json(record)
            data = record
        return record_to_xml(data, self._root_model)

    def parse_json(self, data: dict[str, Any]) -> BaseModel:
        """The model of a decoded JSON document; raises pydantic.ValidationError.

        Validation runs in JSON mode, so dates, amounts and ids must be JSON strings, exactly as
        they are written on the wire.
        """
        return self.model.model_validate_json(json.dumps(data, ensure_ascii=False))

    def check_rules(self, record: dict[str, Any], today: date) -> list[RuleViolation]:
        """Every business-rule violation of a schema-valid record, as of `today`."""
        where = outline(self._root_model, SHARED_FIELDS)
        violations = shared_rules(record, today, where) + message_type_rule(record, self.root)
        if self.form_rules is not None:
            violations += self.form_rules(record, today)
        return violations

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of the JSON form; its `$id` is the namespace."""
        generated = self.model.model_json_schema(by_alias=True)
        generated.pop("title", None)
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": self.namespace,
            "title": self.title,
            **generated,
        }

    def applicant_place(self, record: dict[str, Any]) -> tuple[str | None, str | None]:
        """(postleitzahl, ars) of the applicant's address, which decides the authority."""
        anschrift = get(record, self.applicant, "anschrift")
        if not isinstance(anschrift, dict):
            return None, None
        return anschrift.get("postleitzahl"), anschrift.get("ars")

    def message_uuid(self, record: dict[str, Any]) -> str | None:
        """The XÖV nachrichtenUUID: unique per message and never reused, so a repeat is a retry."""
        value = get(record, "nachrichtenkopf.g2g", "identifikation.nachricht", "nachrichtenUUID")
        return str(value).lower() if value else None

    def attachment_refs(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The attachments the record announces (each with `art`, `dateiname`, `anlageId`?)."""
        if self.attachments is None:
            return []
        return [dict(item) for item in record.get(self.attachments) or []]


FORMS: dict[str, FormSpec] = {
    spec.id: spec
    for spec in (
        FormSpec(
            id="hundeanmeldung",
            title="Hundesteuer – Anmeldung eines Hundes",
            leika_key="99102013104000",
            namespace=hundeanmeldung.NAMESPACE,
            root=hundeanmeldung.ROOT,
            xsd_path=SCHEMA_DIR / "hundesteuer" / "1.0" / "hundesteuer.xsd",
            model=hundeanmeldung.Hundeanmeldung,
            max_bytes=2 * MiB,
            applicant="halter",
            form_rules=hundeanmeldung.check,
        ),
        FormSpec(
            id="wohngeld-mietzuschuss",
            title="Wohngeld – Antrag auf Mietzuschuss",
            leika_key="99107023037000",
            namespace=wohngeld.NAMESPACE,
            root=wohngeld.ROOT,
            xsd_path=SCHEMA_DIR / "wohngeld" / "1.0" / "wohngeld.xsd",
            model=wohngeld.WohngeldAntrag,
            max_bytes=20 * MiB,
            applicant="antragsteller",
            attachments="anlage",
            form_rules=wohngeld.check,
        ),
    )
}

_BY_NAMESPACE = {spec.namespace: spec for spec in FORMS.values()}
_BY_LEIKA = {spec.leika_key: spec for spec in FORMS.values()}


def form_by_namespace(ns: str) -> FormSpec | None:
    """The form whose XML namespace (= JSON `"$schema"`) is `ns`."""
    return _BY_NAMESPACE.get(ns)


def form_by_leika(key_or_urn: str) -> FormSpec | None:
    """The form of a LeiKa key, bare (14 digits) or as `urn:de:fim:leika:leistung:<key>`."""
    return _BY_LEIKA.get(key_or_urn.removeprefix(LEIKA_URN_PREFIX))
