"""The simple types of `basis.xsd`, as pydantic types that accept exactly the same JSON values.

Each pattern here is the XSD pattern anchored; lengths are the same. Dates, times and amounts are
JSON strings in their XSD lexical form (amounts as strings so that no float ever touches money),
and are handed to Python as `date`, `datetime` and `Decimal`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema

SINGLE_LINE = r"^[^ \t\r\n]([^\r\n]*[^ \t\r\n])?$"
NO_SPACE = r"^[^ \t\r\n]+$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATE_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+\-][0-9]{2}:[0-9]{2})$"
)
BETRAG = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def lexical(pattern: str, what: str, parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    """Hold a JSON string to the XSD's lexical form, then parse it.

    Without this pydantic would take `1.5` (a float) for an amount or `20240101` for a date,
    which the XSD refuses; JSON and XML must accept the same documents. Python values of the
    right type (a `date`, a `Decimal`) pass through for models built in code.
    """
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, str):
            if not compiled.fullmatch(value):
                raise ValueError(f"{what} must match {pattern}")
            return parse(value)
        if isinstance(value, int | float):
            raise ValueError(f"{what} is written as a JSON string, not a number")
        return value

    return check


def _text(max_length: int, pattern: str | None = SINGLE_LINE, min_length: int = 1) -> Any:
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)


Zeile = Annotated[str, _text(255)]
Name = Annotated[str, _text(120)]
Hausnummer = Annotated[str, _text(20)]
Freitext = Annotated[str, _text(2000, pattern=None)]
Telefon = Annotated[str, _text(30, r"^\+?[0-9][0-9 /()\-]{2,29}$")]
Email = Annotated[str, _text(254, r"^[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+$")]
Uri = Annotated[str, _text(255, r"^[A-Za-z][A-Za-z0-9+.\-]*:[^ \t\r\n]+$")]
Uuid = Annotated[str, StringConstraints(pattern=UUID)]
Postleitzahl = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
Ars = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]

FRIENDLY_REASONS = {
    "ars": "ars: a 12-digit Regionalschlüssel (pad with zeros: 146120000000)",
}
"""What to say, by element (XML) or field (JSON) name, when a value does not have its pattern:
the pattern itself tells a portal developer little."""
Iban = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")]
Codewert = Annotated[str, _text(100, NO_SPACE)]
Codelistenversion = Annotated[str, _text(20, NO_SPACE)]

Datum = Annotated[
    date,
    BeforeValidator(lexical(DATE, "a date", date.fromisoformat)),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE}),
]
Zeitpunkt = Annotated[
    datetime,
    BeforeValidator(lexical(DATE_TIME, "a point in time", datetime.fromisoformat)),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": DATE_TIME}),
]
Betrag = Annotated[
    Decimal,
    BeforeValidator(lexical(BETRAG, "an amount", Decimal)),
    Field(ge=0, max_digits=11, decimal_places=2),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": BETRAG,
            "description": "Euro, at most two decimals, as a string",
        }
    ),
]
