"""One mapping between XÖV messages and their JSON records, for every form.

The pydantic models describe both shapes at once: a field's name (or alias) is the XML local name
and the JSON property, the field order is the XSD sequence order, and the model class that first
declares a field decides the field's XML namespace (`xml_namespace`), just as the XSD type that
declares a local element does. Fields marked `XML_ATTRIBUTE` are attributes, fields marked
`JSON_ONLY` exist only in JSON (the form's `"$schema"`). No form needs code of its own here.

A *record* is the JSON-shaped dict of a form: strings, booleans, integers, lists, dicts. Values keep
their lexical form (a Betrag stays "845.00"), absent elements are absent keys, and an empty list is
the same as an absent one. Binary content (`BASE64_BINARY`, xs:base64Binary) is Base64 without
whitespace in JSON; readers may hand it to a `binary` hook instead, which decides what the record
holds in its place (intake stores the bytes apart and keeps a reference).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from contracts.forms.simpletypes import Zeile


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


XML_ATTRIBUTE = _Marker("XML_ATTRIBUTE")
"""Annotated metadata: the field is an XML attribute, not a child element."""

JSON_ONLY = _Marker("JSON_ONLY")
"""Annotated metadata: the field exists only in JSON (it names the form there)."""

BASE64_BINARY = _Marker("BASE64_BINARY")
"""Annotated metadata: the value is xs:base64Binary (whitespace in XML is not part of it)."""

BinaryHook = Callable[[str], Any]
"""Takes the Base64 text of a binary value (from XML with any whitespace still in it) and returns
what the record holds in its place."""


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
    BASE64 = "base64"  # xs:base64Binary: every whitespace character dropped
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
    max_items: int | None = None  # of a repeated element, as the model (and the XSD) caps it


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
        repeated, target, markers = _unwrap(info.annotation)
        nested = target if isinstance(target, type) and issubclass(target, XmlModel) else None
        kind = Kind.MODEL if nested else _kind_of(target)
        if BASE64_BINARY in markers or BASE64_BINARY in info.metadata:
            kind = Kind.BASE64
        result.append(
            Slot(
                key=key,
                tag=key if json_only else etree.QName(namespace or None, key).text,
                attribute=attribute,
                json_only=json_only,
                repeated=repeated,
                kind=kind,
                model=nested,
                namespace=namespace,
                prefix="" if attribute else owner.xml_prefix,
                max_items=_max_items(info.metadata) if repeated else None,
            )
        )
    return tuple(result)


def _declaring_class(model: type[XmlModel], field: str) -> type[XmlModel]:
    """The most basic model class with this field: an XSD restriction keeps the base's names."""
    for klass in reversed(model.__mro__):
        if isinstance(klass, type) and issubclass(klass, XmlModel) and field in klass.model_fields:
            return klass
    raise LookupError(field)  # pragma: no cover - every field is declared somewhere


def _max_items(metadata: list[Any]) -> int | None:
    caps = [m.max_length for m in metadata if isinstance(getattr(m, "max_length", None), int)]
    return min(caps) if caps else None


def _unwrap(annotation: Any) -> tuple[bool, Any, list[Any]]:
    """(repeated, item type, Annotated metadata) with Optional and Annotated peeled off."""
    repeated = False
    markers: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            markers.extend(annotation.__metadata__)
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
            return repeated, annotation, markers


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


Outline = dict[str, "Outline"]
"""Part of a record's shape: key → the outline of the value under it ({} below a leaf)."""


@cache
def outline(model: type[XmlModel], names: frozenset[str]) -> Outline:
    """The keys of the model's records under which a field named in `names` can occur.

    A rule that looks at fields by name walks this instead of the whole record: a Wohngeld
    application of 1 MB has some 1,300 objects, of which a few dozen can hold such a field.
    """
    return _outline(model, names, {}, set())


def _outline(
    model: type[XmlModel],
    names: frozenset[str],
    built: dict[type[XmlModel], Outline],
    building: set[type[XmlModel]],
) -> Outline:
    if model in built:
        return built[model]
    result = built[model] = {}
    building.add(model)
    for slot in slots(model):
        if slot.json_only:
            continue
        nested = _outline(slot.model, names, built, building) if slot.model else {}
        # A model still being built (it contains itself) may yet gain keys: keep it.
        if slot.key in names or nested or slot.model in building:
            result[slot.key] = nested
    building.discard(model)
    return result


# --------------------------------------------------------------------------- XML → record


def record_from_xml(
    element: etree._Element, model: type[XmlRoot], binary: BinaryHook | None = None
) -> dict[str, Any]:
    """The record of a schema-valid message; the root must be the model's root element."""
    reader = RecordReader(model, binary)
    reader.check_root(element)
    _read_children(reader._record, element, _plan(model), binary, element)
    return reader.finish(element)


@dataclass
class RecordReader:
    """Builds the record of a message one child of the root at a time.

    A streaming parser hands each child over as soon as its end tag is read and may then discard
    it, so a large message never stands in memory as a whole tree. The root's own attributes are
    read by `finish()`. A repeated child beyond the model's cap is refused at once: the schema
    refuses the message anyway, and the record of a hostile document must not grow unbounded.
    """

    model: type[XmlRoot]
    binary: BinaryHook | None = None
    _record: dict[str, Any] = field(default_factory=dict)

    @property
    def root_tag(self) -> str:
        return _root_tag(self.model)

    @property
    def child_tags(self) -> tuple[str, ...]:
        """The tags a child of the root can have."""
        return tuple(_plan(self.model).children)

    def add(self, child: etree._Element) -> None:
        _read_children(self._record, (child,), _plan(self.model), self.binary, self.root_tag)

    def check_root(self, root: etree._Element) -> None:
        if root.tag != self.root_tag:
            raise ValueError(f"expected the root element {self.root_tag}, got {root.tag}")

    def finish(self, root: etree._Element) -> dict[str, Any]:
        self.check_root(root)
        record: dict[str, Any] = {"$schema": self.model.xml_namespace}
        record.update(_attributes(root, _plan(self.model)))
        record.update(self._record)
        return record


@cache
def _root_tag(model: type[XmlRoot]) -> str:
    tag: str = etree.QName(model.xml_namespace, model.xml_root).text
    return tag


_Child = tuple[str, bool, int | None, Kind, "_Plan | None"]
"""A child element's slot, flattened for the reader: (key, repeated, max_items, kind, plan)."""


@dataclass(frozen=True)
class _Plan:
    """How to read an element of one model: its children by tag, then its attributes."""

    children: dict[str, _Child]
    attributes: tuple[Slot, ...]


@cache
def _plan(model: type[XmlModel]) -> _Plan:
    return _build_plan(model, {})


def _build_plan(model: type[XmlModel], built: dict[type[XmlModel], _Plan]) -> _Plan:
    plan = built.get(model)
    if plan is None:  # a model that contains itself finds its plan here while it is being built
        plan = built[model] = _Plan({}, tuple(slot for slot in slots(model) if slot.attribute))
        for slot in slots(model):
            if not (slot.json_only or slot.attribute):
                nested = _build_plan(slot.model, built) if slot.model is not None else None
                plan.children[slot.tag] = (
                    slot.key,
                    slot.repeated,
                    slot.max_items,
                    slot.kind,
                    nested,
                )
    return plan


def _attributes(element: etree._Element, plan: _Plan) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if plan.attributes and element.keys():
        for slot in plan.attributes:
            value = element.get(slot.tag)
            if value is not None:
                record[slot.key] = _leaf(value, slot.kind)
    return record


_TEXT = Kind.TEXT
_BASE64 = Kind.BASE64


def _read_children(
    record: dict[str, Any],
    children: Iterable[etree._Element],
    plan: _Plan,
    binary: BinaryHook | None,
    parent: etree._Element | str,
) -> None:
    # Runs once per element of every application: kept lean on purpose. Iterating an element
    # directly is cheaper than `iterchildren(tag=…)`; comments and processing instructions (whose
    # tag is not a string) are skipped where a tag is not found.
    slots_by_tag = plan.children
    for child in children:
        tag = child.tag
        found = slots_by_tag.get(tag)
        if found is None:
            if isinstance(tag, str):
                raise ValueError(f"unexpected element {tag} in {_tag_of(parent)}")
            continue
        key, repeated, max_items, kind, nested = found
        if nested is not None:
            value: Any = _attributes(child, nested) if nested.attributes else {}
            _read_children(value, child, nested, binary, child)
        else:
            # itertext: a comment inside a value must not cut it short
            text = (child.text or "") if len(child) == 0 else "".join(child.itertext())
            if kind is _TEXT:
                value = text
            elif kind is _BASE64 and binary is not None:
                value = binary(text)  # whitespace and all: the hook decodes
            else:
                value = _leaf(text, kind)
        if repeated:
            items = record.get(key)
            if items is None:
                record[key] = [value]
            elif max_items is not None and len(items) >= max_items:
                raise ValueError(f"{tag} occurs more than {max_items} times")
            else:
                items.append(value)
        elif key in record:
            raise ValueError(f"{tag} occurs more than once in {_tag_of(parent)}")
        else:
            record[key] = value


def _tag_of(parent: etree._Element | str) -> str:
    return parent if isinstance(parent, str) else str(parent.tag)


def replace_binary(record: dict[str, Any], model: type[XmlModel], binary: BinaryHook) -> None:
    """Hand every binary value of a record (from JSON) to `binary`, in place."""
    for slot in slots(model):
        value = record.get(slot.key)
        if value is None:
            continue
        items = value if slot.repeated else [value]
        if slot.model is not None:
            for item in items:
                replace_binary(item, slot.model, binary)
        elif slot.kind is Kind.BASE64:
            replaced = [binary(item) for item in items]
            record[slot.key] = replaced if slot.repeated else replaced[0]


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
    if kind is Kind.BASE64:
        # No copy when there is no whitespace (str.split and str.join both short-cut that).
        return "".join(text.split())
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
