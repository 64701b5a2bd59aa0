"""One mapping between XÖV messages and their JSON records, for every form.

The pydantic models describe both shapes at once: a field's name (or alias) is the XML local name
and the JSON property, the field order is the XSD sequence order, and the model class that first
declares a field decides the field's XML namespace (`xml_namespace`), just as the XSD type that
declares a local element does. Fields marked `XML_ATTRIBUTE` are attributes, fields marked
`JSON_ONLY` exist only in JSON (the form's `"$schema"`). No form needs code of its own here.

A *record* is the JSON-shaped dict of a form: strings, booleans, integers, lists, dicts. Values keep
their lexical form (a Betrag stays "845.00"), absent elements are absent keys, and an empty list is
the same as an absent one.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from intake.forms.simpletypes import Zeile


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


XML_ATTRIBUTE = _Marker("XML_ATTRIBUTE")
"""Annotated metadata: the field is an XML attribute, not a child element."""

JSON_ONLY = _Marker("JSON_ONLY")
"""Annotated metadata: the field exists only in JSON (it names the form there)."""


class XmlModel(BaseModel):
    """A complex type of the XSD; its own fields are elements of `xml_namespace`."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        serialize_by_alias=True,
        validate_by_alias=True,
        validate_by_name=False,
        field_title_generator=lambda name, info: info.alias or name,
    )

    xml_namespace: ClassVar[str] = ""
    xml_prefix: ClassVar[str] = ""


class XmlRoot(XmlModel):
    """A message: the root element with the XÖV attributes, named by `"$schema"` in JSON."""

    xml_root: ClassVar[str]

    schema_uri: Annotated[str, JSON_ONLY] = Field(alias="$schema")
    standard: Annotated[str, XML_ATTRIBUTE]
    version: Annotated[str, XML_ATTRIBUTE]
    produkt: Annotated[Zeile | None, XML_ATTRIBUTE] = None
    produkthersteller: Annotated[Zeile | None, XML_ATTRIBUTE] = None
    produktversion: Annotated[Zeile | None, XML_ATTRIBUTE] = None
    test: Annotated[bool | None, XML_ATTRIBUTE] = None


class Kind(Enum):
    """How a value is written in JSON, which decides how its XML text is read."""

    TEXT = "text"  # xs:string based: the text as it stands
    LEXICAL = "lexical"  # dates, times, decimals: whitespace-collapsed by XSD, so trimmed
    BOOLEAN = "boolean"
    INTEGER = "integer"
    MODEL = "model"


@dataclass(frozen=True)
class Slot:
    """One field of a model as it appears in XML and JSON."""

    key: str
    tag: str
    attribute: bool
    json_only: bool
    repeated: bool
    kind: Kind
    model: type[XmlModel] | None
    namespace: str
    prefix: str


@cache
def slots(model: type[XmlModel]) -> tuple[Slot, ...]:
    """The model's fields in XSD sequence order, with their XML names and value kinds."""
    result = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        attribute = XML_ATTRIBUTE in info.metadata
        json_only = JSON_ONLY in info.metadata
        owner = _declaring_class(model, name)
        namespace = "" if attribute else owner.xml_namespace
        repeated, target = _unwrap(info.annotation)
        nested = target if isinstance(target, type) and issubclass(target, XmlModel) else None
        result.append(
            Slot(
                key=key,
                tag=key if json_only else etree.QName(namespace or None, key).text,
                attribute=attribute,
                json_only=json_only,
                repeated=repeated,
                kind=Kind.MODEL if nested else _kind_of(target),
                model=nested,
                namespace=namespace,
                prefix="" if attribute else owner.xml_prefix,
            )
        )
    return tuple(result)


def _declaring_class(model: type[XmlModel], field: str) -> type[XmlModel]:
    """The most basic model class with this field: an XSD restriction keeps the base's names."""
    for klass in reversed(model.__mro__):
        if isinstance(klass, type) and issubclass(klass, XmlModel) and field in klass.model_fields:
            return klass
    raise LookupError(field)  # pragma: no cover - every field is declared somewhere


def _unwrap(annotation: Any) -> tuple[bool, Any]:
    """(repeated, item type) with Optional and Annotated peeled off."""
    repeated = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                raise TypeError(f"unions other than Optional do not map to XML: {annotation}")
            annotation = members[0]
        elif origin is list:
            repeated = True
            annotation = get_args(annotation)[0]
        else:
            return repeated, annotation


def _kind_of(target: Any) -> Kind:
    if get_origin(target) is Literal:
        values = get_args(target)
        return _kind_of(type(values[0]))
    if target is bool:
        return Kind.BOOLEAN
    if target is int:
        return Kind.INTEGER
    if target in (date, datetime, Decimal):
        return Kind.LEXICAL
    if target is str:
        return Kind.TEXT
    raise TypeError(f"no XML mapping for the type {target!r}")


@cache
def nsmap(model: type[XmlModel]) -> dict[str, str]:
    """Prefix → namespace for every namespace the message can use."""
    found: dict[str, str] = {model.xml_prefix: model.xml_namespace}
    pending = [model]
    seen: set[type[XmlModel]] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for slot in slots(current):
            if slot.namespace:
                found[slot.prefix] = slot.namespace
            if slot.model is not None:
                pending.append(slot.model)
    return found


# --------------------------------------------------------------------------- XML → record


def record_from_xml(element: etree._Element, model: type[XmlRoot]) -> dict[str, Any]:
    """The record of a schema-valid message; the root must be the model's root element."""
    expected = etree.QName(model.xml_namespace, model.xml_root)
    if element.tag != expected.text:
        raise ValueError(f"expected the root element {expected.text}, got {element.tag}")
    record: dict[str, Any] = {"$schema": model.xml_namespace}
    record.update(_read(element, model))
    return record


def _read(element: etree._Element, model: type[XmlModel]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    children: dict[str, Slot] = {}
    for slot in slots(model):
        if slot.json_only:
            continue
        if slot.attribute:
            value = element.get(slot.tag)
            if value is not None:
                record[slot.key] = _leaf(value, slot.kind)
        else:
            children[slot.tag] = slot
    for child in element.iterchildren(tag=etree.Element):
        target = children.get(child.tag)
        if target is None:
            raise ValueError(f"unexpected element {child.tag} in {element.tag}")
        if target.model is not None:
            value = _read(child, target.model)
        else:
            # itertext: a comment inside a value must not cut it short
            value = _leaf("".join(child.itertext()), target.kind)
        if target.repeated:
            record.setdefault(target.key, []).append(value)
        elif target.key in record:
            raise ValueError(f"{child.tag} occurs more than once in {element.tag}")
        else:
            record[target.key] = value
    return record


def _leaf(text: str, kind: Kind) -> Any:
    if kind is Kind.TEXT:
        return text
    text = text.strip()
    if kind is Kind.BOOLEAN:
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(f"not an xs:boolean: {text!r}")
    if kind is Kind.INTEGER:
        return int(text)
    return text


# --------------------------------------------------------------------------- record → XML


def record_to_xml(record: dict[str, Any], model: type[XmlRoot]) -> bytes:
    """The message of a record, elements in XSD order, as UTF-8 with an XML declaration."""
    root = etree.Element(
        etree.QName(model.xml_namespace, model.xml_root).text,
        nsmap=dict(nsmap(model)),
    )
    _write(root, record, model)
    document: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return document


def _write(element: etree._Element, data: dict[str, Any], model: type[XmlModel]) -> None:
    known = {slot.key for slot in slots(model)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{model.__name__} has no field(s) {', '.join(unknown)}")
    for slot in slots(model):
        value = data.get(slot.key)
        if value is None or slot.json_only:
            continue
        if slot.attribute:
            element.set(slot.tag, _text(value))
            continue
        for item in value if slot.repeated else [value]:
            child = etree.SubElement(element, slot.tag)
            if slot.model is not None:
                _write(child, item, slot.model)
            else:
                child.text = _text(item)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
