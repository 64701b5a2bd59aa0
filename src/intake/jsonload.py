"""Loading a JSON application: orjson's strict parse, and what it lets through refused
(duplicate keys, characters XML cannot carry, too many values, bytes that are not UTF-8)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from intake.errors import Invalid, Malformed, Violation

MAX_JSON_VALUES = 100_000
"""Values (strings, numbers, objects, …) a JSON document may hold; the forms' largest valid
record has a few thousand. Beyond it pydantic would need gigabytes to say no."""
UTF8_BOM = b"\xef\xbb\xbf"
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def load_json(data: bytes, where: str = "") -> Any:
    """orjson's strict parse, and what it lets through refused: a key twice in one object (which
    value counts is up to the reader), characters XML cannot carry (the JSON and XML forms of an
    application must be interchangeable; PostgreSQL cannot store U+0000 either), and documents
    with more than `MAX_JSON_VALUES` values."""
    # An upper bound of the values, counted at C speed before any is built: orjson would
    # need half a gigabyte for 20 MiB of `[[],[],…]`. Strings inflate the count; no valid
    # form comes near the tenfold allowance.
    if data.count(b",") + data.count(b"[") + data.count(b"{") > 10 * MAX_JSON_VALUES:
        raise _too_many_values(where)
    # A UTF-8 byte order mark is ignored, as RFC 8259 §8.1 allows and as XML does.
    data = data.removeprefix(UTF8_BOM)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Malformed(
            [_not_utf8(data, where) or Violation("json.malformed", where or "/", str(exc))]
        ) from None
    # Fast paths: control characters occur in valid JSON only as escapes (\u…, \b, \f), and
    # a document shorter than MAX_JSON_VALUES bytes cannot hold more values than that.
    if (
        len(data) > MAX_JSON_VALUES
        or b"\\u" in data
        or b"\\b" in data
        or b"\\f" in data
        or b"\xef\xbf\xbe" in data
        or b"\xef\xbf\xbf" in data
    ):
        _check_json_values(document, where)
    try:
        json.loads(data, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise Malformed(
            [
                Violation(
                    "json.duplicate_key",
                    where or "/",
                    f"the key {exc.args[0]!r} occurs more than once in one object",
                )
            ]
        ) from None
    except RecursionError:
        # orjson allows 1024 levels, the standard library about 1000: no form comes close.
        raise Malformed([Violation("json.too_deep", where or "/", "nested too deeply")]) from None
    return document


def _not_utf8(data: bytes, where: str) -> Violation | None:
    """Where a document stops being UTF-8 (orjson says "surrogates not allowed … char 0")."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Violation(
            "json.malformed",
            where or "/",
            f"JSON must be UTF-8: the byte 0x{data[exc.start]:02x} at line {line}, column "
            f"{column} (byte offset {exc.start}) is not",
            line=line,
            column=column,
        )
    return None


def _too_many_values(where: str) -> Invalid:
    return Invalid(
        [
            Violation(
                "json.too_many_values",
                where or "/",
                f"the document holds more than {MAX_JSON_VALUES} values",
            )
        ]
    )


def _check_json_values(document: Any, where: str) -> None:
    seen = 0
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if _NOT_XML_CHAR.search(value):
                raise Invalid(
                    [
                        Violation(
                            "json.character",
                            where or "/",
                            "a string holds a character XML cannot carry (a control character, "
                            "U+FFFE or U+FFFF)",
                        )
                    ]
                )
            continue
        if isinstance(value, dict | list):
            seen += len(value)
            if seen > MAX_JSON_VALUES:
                raise _too_many_values(where)
            if isinstance(value, dict):
                pending.extend(value)
                pending.extend(value.values())
            else:
                pending.extend(value)
