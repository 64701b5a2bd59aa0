"""The readable view of an application: labelled sections of German captions and values.

The one module of the e-Akte that reads intake's form registry (models, labels, code lists: the
forms' published language), a declared port in the import-linter contracts.

One view model for every rendering a person reads — the HTML rendering, the PDF/A rendering and
the clerk's pages — so that they cannot drift apart: captions from the form's labels
(`contracts.forms.labels`), dates as `23.11.1979`, amounts as `1.234,56 €`, code values by their
names from the code list, and no technical keys (message header, list URIs, schema ids). The
walk follows the form's model, so a value is formatted by its schema type, not guessed from its
text; a record of a form the registry does not know is shown generically, still without the
technical keys.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from contracts.forms import FORMS
from contracts.forms.basis import Code
from contracts.forms.labels import HIDDEN, label
from contracts.forms.simpletypes import Betrag, Datum, Zeitpunkt
from contracts.forms.wohngeld import Wohnflaeche

LOCAL_TIME = ZoneInfo("Europe/Berlin")
GENERAL = "Allgemeine Angaben"
EMPTY = "—"


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    """A group of fields under a title; `level` 1 is a part of the form, 2 a part of that."""

    title: str
    level: int
    fields: tuple[Field, ...]


# --- formatting ----------------------------------------------------------------------------


def german_date(value: date | str) -> str:
    """`1979-11-23` → `23.11.1979` (a string that is no date comes back as it is)."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y")


def german_datetime(value: datetime | str) -> str:
    """A point in time in German local time: `23.11.2026, 14:05 Uhr`."""
    if isinstance(value, str):
        try:
            return german_datetime(datetime.fromisoformat(value))
        except ValueError:
            return value
    if value.tzinfo is not None:
        value = value.astimezone(LOCAL_TIME)
    return value.strftime("%d.%m.%Y, %H:%M Uhr")


def german_decimal(value: Decimal | str, places: int = 2) -> str:
    """`1234.5` → `1.234,50` (thousands with dots, decimals after a comma)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{number:,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def german_amount(value: Decimal | str) -> str:
    return f"{german_decimal(value)} €"


def german_size(size: int) -> str:
    return f"{german_decimal(Decimal(size), 0)} Bytes"


def _yes_no(value: bool) -> str:
    return "ja" if value else "nein"


# --- the walk ------------------------------------------------------------------------------


def _shape(annotation: Any) -> tuple[bool, Any, Any]:
    """(repeated, the type itself, the `Annotated` alias it was declared with, if any)."""
    repeated = False
    alias: Any = None
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            alias = alias or annotation
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            annotation = members[0]
        elif origin is list:
            repeated = True
            annotation = get_args(annotation)[0]
        else:
            return repeated, annotation, alias


def _code_name(model: type[Code], value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    code = str(value.get("code", ""))
    liste = model.codeliste
    known = liste.name_of(code) if liste is not None else None
    return known or str(value.get("name") or code)


def _declared_as(alias: Any, metadata: Sequence[Any], simple_type: Any) -> bool:
    """Whether a field was declared with `simple_type` (pydantic moves a bare `Annotated`'s
    metadata into the field's, and keeps it inside `Optional[...]`)."""
    if alias is not None and alias == simple_type:
        return True
    marks = [m for m in get_args(simple_type)[1:] if not isinstance(m, FieldInfo)]
    return bool(marks) and all(any(m is x for x in metadata) for m in marks)


def _kind(alias: Any, target: Any, metadata: Sequence[Any] = ()) -> str:
    """How a scalar field is shown, from its declaration (worked out once per field)."""
    if _declared_as(alias, metadata, Betrag):
        return "amount"
    if _declared_as(alias, metadata, Wohnflaeche):
        return "area"
    if _declared_as(alias, metadata, Datum) or target is date:
        return "date"
    if _declared_as(alias, metadata, Zeitpunkt) or target is datetime:
        return "datetime"
    return "plain"


def _scalar(kind: str, value: Any) -> str:
    if value is None:
        return EMPTY
    if kind == "amount":
        return german_amount(value)
    if kind == "area":
        return f"{german_decimal(value)} m²"
    if kind == "date":
        return german_date(value)
    if kind == "datetime":
        return german_datetime(value)
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, dict) and "size" in value and "sha256" in value:
        # an attachment carried inline: intake keeps its blob, the record only its reference
        return f"eingebettete Datei, {german_size(int(value['size']))}"
    return str(value)


@dataclass(frozen=True)
class _Planned:
    key: str
    repeated: bool
    target: Any
    kind: str  # code, model, or how a scalar is shown (see `_kind`)


@cache
def _plan(model: type[BaseModel]) -> tuple[_Planned, ...]:
    """A model's fields as the walk needs them. Working this out from the type annotations for
    every field of every record was a sixth of the e-Akte worker's CPU when filing
    (`python -m bench pipeline --profile`); the forms' models do not change while running."""
    planned = []
    for name, info in model.model_fields.items():
        repeated, target, alias = _shape(info.annotation)
        if isinstance(target, type) and issubclass(target, Code):
            kind = "code"
        elif isinstance(target, type) and issubclass(target, BaseModel):
            kind = "model"
        else:
            kind = _kind(alias, target, info.metadata)
        planned.append(_Planned(info.alias or name, repeated, target, kind))
    return tuple(planned)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _guessed(value: Any) -> str:
    """A value of a form without a model: only an ISO date is recognised by its text."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return german_date(value)
    return _scalar(_kind(None, type(value)), value)


class _Walk:
    def __init__(self, form_id: str | None) -> None:
        self.form_id = form_id
        self.sections: list[Section] = []

    def label(self, key: str) -> str:
        return label(key, self.form_id)

    def model(self, model: type[BaseModel], data: dict[str, Any], title: str, level: int) -> None:
        fields: list[Field] = []
        index = len(self.sections)
        later: list[tuple[type[BaseModel], dict[str, Any], str]] = []
        for field in _plan(model):
            key = field.key
            if key in HIDDEN or data.get(key) is None:
                continue
            value = data[key]
            items = value if field.repeated and isinstance(value, list) else [value]
            if field.kind == "code":
                names = [_code_name(field.target, item) for item in items]
                fields.append(Field(self.label(key), ", ".join(names) or EMPTY))
            elif field.kind == "model":
                for number, item in enumerate(items, start=1):
                    if isinstance(item, dict):
                        heading = self.label(key)
                        if field.repeated and len(items) > 1:
                            heading = f"{heading} {number}"
                        later.append((field.target, item, heading))
            else:
                text = ", ".join(_scalar(field.kind, item) for item in items)
                fields.append(Field(self.label(key), text or EMPTY))
        self.sections.insert(index, Section(title, level, tuple(fields)))
        for target, item, heading in later:
            self.model(target, item, heading, level + 1)

    def generic(self, data: dict[str, Any], title: str, level: int) -> None:
        fields: list[Field] = []
        index = len(self.sections)
        later: list[tuple[dict[str, Any], str]] = []
        for key, value in data.items():
            if key in HIDDEN or value is None:
                continue
            items = value if isinstance(value, list) else [value]
            if items and all(isinstance(i, dict) and "code" in i for i in items):
                fields.append(Field(self.label(key), ", ".join(_code_name(Code, i) for i in items)))
            elif items and all(isinstance(i, dict) for i in items):
                for number, item in enumerate(items, start=1):
                    suffix = f" {number}" if len(items) > 1 else ""
                    later.append((item, self.label(key) + suffix))
            else:
                text = ", ".join(_guessed(i) for i in items)
                fields.append(Field(self.label(key), text or EMPTY))
        self.sections.insert(index, Section(title, level, tuple(fields)))
        for item, heading in later:
            self.generic(item, heading, level + 1)


def sections(record: dict[str, Any], form_id: str | None) -> list[Section]:
    """The application's content as sections of labelled fields, in the form's order.

    The fields directly under the root (e.g. the number of other dogs) form a first section
    `Allgemeine Angaben`, left out when empty; every structure below becomes a section of its
    own, a repeated one numbered (`Haushaltsmitglied 3`).
    """
    walk = _Walk(form_id)
    spec = FORMS.get(form_id) if form_id else None
    if spec is not None:
        walk.model(spec.model, record, GENERAL, 0)
    else:
        walk.generic(record, GENERAL, 0)
    result = []
    for section in walk.sections:
        if section.level == 0:
            if section.fields:
                result.append(Section(section.title, 1, section.fields))
            continue
        result.append(section)
    return result


def form_title(form_id: str | None) -> str | None:
    """The form's German title, if the registry knows the form."""
    spec = FORMS.get(form_id) if form_id else None
    return spec.title if spec else None


def applicant(record: dict[str, Any], form_id: str | None) -> dict[str, Any]:
    """The applicant's part of a record (the form says where it lives), or {}."""
    spec = FORMS.get(form_id) if form_id else None
    person = record.get(spec.applicant if spec else "antragsteller")
    return person if isinstance(person, dict) else {}


def facts(pairs: Iterable[tuple[str, str]]) -> tuple[Field, ...]:
    return tuple(Field(k, v) for k, v in pairs)


@dataclass(frozen=True)
class AttachmentLine:
    name: str
    media_type: str
    size: str
    sha256: str


@dataclass(frozen=True)
class ReadableApplication:
    """Everything a rendering shows: title, the file's facts, the content, the attachments."""

    title: str
    facts: tuple[Field, ...]
    sections: Sequence[Section]
    attachments: tuple[AttachmentLine, ...]
