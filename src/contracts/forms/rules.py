"""Business rules that an XSD cannot express, checked on the record after schema validation.

Rules read the JSON-shaped record, so XML and JSON applications are judged alike. They assume a
schema-valid record, but never fail on a missing optional part. Rules that hang on a field name
(every `iban`, every `ars`, every birth date, …) are shared by all forms; the rest live with their
form.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.forms.xmlmodel import Outline

FUTURE_DATE_FIELDS = ("geburtsdatum", "haltungsbeginn", "einzugsdatum")
SHARED_FIELDS = frozenset({"iban", "transpondernummer", "ars", "geburtsjahr", *FUTURE_DATE_FIELDS})
"""The fields `shared_rules` looks at, wherever they occur."""


@dataclass(frozen=True)
class RuleViolation:
    """A broken rule: a stable dotted `code`, the JSON pointer `name` of the field, a `reason`."""

    code: str
    name: str
    reason: str


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) to a field of the record."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def walk(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (path, value) in the record, depth first, in document order."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))


def get(record: Any, *path: str | int) -> Any:
    """The value at path, or None when any step is missing."""
    for part in path:
        if isinstance(record, dict) and isinstance(part, str):
            record = record.get(part)
        elif isinstance(record, list) and isinstance(part, int) and 0 <= part < len(record):
            record = record[part]
        else:
            return None
    return record


def as_date(value: Any) -> date | None:
    """A record date, or None when it is absent or not a date (the schema reports that)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------- single values


def iban_valid(iban: str) -> bool:
    """ISO 13616 check digits: the rearranged number is 1 modulo 97."""
    if len(iban) < 5 or not iban.isalnum() or not iban.isascii():
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged.upper())
    return int(digits) % 97 == 1


def transponder_problem(number: str) -> str | None:
    """Why a 15-digit ISO 11784 transponder number cannot be genuine, or None."""
    if len(number) != 15 or not number.isdigit() or not number.isascii():
        return "a transponder number has exactly 15 digits"
    if set(number) == {"0"}:
        return "a transponder number cannot be all zeros"
    prefix = int(number[:3])
    if not 1 <= prefix <= 998:
        return (
            f"the first three digits ({number[:3]}) must be an ISO 3166 numeric country code "
            "(001–899) or a manufacturer code (900–998)"
        )
    return None


def ars_problem(ars: str) -> str | None:
    """Why a 12-digit ARS cannot name a German place, or None (the Land part is 01–16)."""
    if len(ars) != 12 or not ars.isdigit():
        return "an ARS has exactly 12 digits"
    if not 1 <= int(ars[:2]) <= 16:
        return f"the Land part of the ARS ({ars[:2]}) must be 01–16"
    return None


# --------------------------------------------------------------------------- shared rules


def shared_rules(
    record: dict[str, Any], today: date, where: Outline | None = None
) -> list[RuleViolation]:
    """The rules that apply to a field wherever it occurs, in document order.

    `where` limits the walk to the keys under which such a field can occur (the form's model
    knows them); without it the whole record is walked.
    """
    violations: list[RuleViolation] = []
    if where is None:
        _shared(record, (), today, violations)
    else:
        _shared_within(record, where, (), today, violations)
    return violations


def _shared(
    value: Any, path: tuple[str | int, ...], today: date, violations: list[RuleViolation]
) -> None:
    # What `walk` would visit, without a generator frame and a pointer per value.
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SHARED_FIELDS:
                _shared_field(key, item, (*path, key), today, violations)
            if isinstance(item, dict | list):
                _shared(item, (*path, key), today, violations)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                _shared(item, (*path, index), today, violations)


def _shared_within(
    record: dict[str, Any],
    where: Outline,
    path: tuple[str | int, ...],
    today: date,
    violations: list[RuleViolation],
) -> None:
    for key, below in where.items():
        value = record.get(key)
        if value is None:
            continue
        items = enumerate(value) if isinstance(value, list) else ((None, value),)
        for index, item in items:
            at = (*path, key) if index is None else (*path, key, index)
            if key in SHARED_FIELDS:
                _shared_field(key, item, at, today, violations)
            if below and isinstance(item, dict):
                _shared_within(item, below, at, today, violations)


def _shared_field(
    field: str,
    value: Any,
    path: tuple[str | int, ...],
    today: date,
    violations: list[RuleViolation],
) -> None:
    where = pointer(*path)
    if field == "iban" and isinstance(value, str) and not iban_valid(value):
        violations.append(
            RuleViolation("iban.checksum", where, "the IBAN's check digits are wrong")
        )
    elif field == "transpondernummer" and isinstance(value, str):
        problem = transponder_problem(value)
        if problem:
            violations.append(RuleViolation("transponder.invalid", where, problem))
    elif field == "ars" and isinstance(value, str):
        problem = ars_problem(value)
        if problem:
            violations.append(RuleViolation("ars.structure", where, problem))
    elif field in FUTURE_DATE_FIELDS:
        day = as_date(value)
        if day is not None and day > today:
            violations.append(
                RuleViolation("date.future", where, f"{day.isoformat()} lies in the future")
            )
    elif field == "geburtsjahr" and isinstance(value, int) and value > today.year:
        violations.append(
            RuleViolation("date.future", where, f"the year {value} lies in the future")
        )


def message_type_rule(record: dict[str, Any], root: str) -> list[RuleViolation]:
    """The header's message type must name the message it heads."""
    path = ("nachrichtenkopf.g2g", "identifikation.nachricht", "nachrichtentyp", "code")
    code = get(record, *path)
    if code is not None and code != root:
        return [
            RuleViolation(
                "message.type_mismatch",
                pointer(*path),
                f"the header announces {code}, but the message is {root}",
            )
        ]
    return []
