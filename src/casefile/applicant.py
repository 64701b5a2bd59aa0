"""Who applied, as the inbox needs it: a display name, a search key and an identity key.

They are taken from the structured data once, at filing, and kept on the Vorgang, so that the
Posteingang filters and searches on indexed columns instead of reading every record's JSON.
The applicant is the record's first top-level person (an object with a `familienname`):
`antragsteller` in the Wohngeld form, `halter` in the dog registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Separates the parts of a search key, so that a search never matches across two of them.
SEPARATOR = "|"
_BLANKS = re.compile(r"\s+")


@dataclass(frozen=True)
class Applicant:
    family_name: str
    given_name: str | None
    birth_date: str | None

    @property
    def display_name(self) -> str:
        """`Familienname, Vorname`, as German lists sort people."""
        if self.given_name:
            return f"{self.family_name}, {self.given_name}"
        return self.family_name

    @property
    def identity_key(self) -> str:
        """Who the person is for the duplicate check: names without case or extra blanks, and
        the date of birth (the same comparison as the Wohngeld household rules)."""
        return SEPARATOR.join(
            (normalise(self.family_name), normalise(self.given_name or ""), self.birth_date or "")
        )


def applicant_of(record: dict[str, Any]) -> Applicant | None:
    for value in record.values():
        if isinstance(value, dict) and value.get("familienname"):
            given = value.get("vorname")
            born = value.get("geburtsdatum")
            return Applicant(
                family_name=str(value["familienname"]).strip(),
                given_name=str(given).strip() if given else None,
                birth_date=str(born).strip() if born else None,
            )
    return None


def normalise(text: str) -> str:
    """Case-folded (ß → ss), commas and control characters dropped, blanks collapsed: how names
    are searched. (PostgreSQL refuses a NUL in a text parameter.)"""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return _BLANKS.sub(" ", printable.replace(",", " ").replace(SEPARATOR, " ")).strip().casefold()


def search_key(applicant: Applicant | None, file_reference: str) -> str:
    """Both orders of the name and the Aktenzeichen, each searchable by any part of it."""
    parts = []
    if applicant is not None:
        family, given = normalise(applicant.family_name), normalise(applicant.given_name or "")
        parts += [f"{family} {given}".strip(), f"{given} {family}".strip()]
    parts.append(normalise(file_reference))
    return SEPARATOR.join(parts)


def case_columns(record: dict[str, Any], file_reference: str) -> dict[str, Any]:
    """The Vorgang's applicant columns, written at filing."""
    applicant = applicant_of(record)
    return {
        "applicant_name": applicant.display_name[:300] if applicant else None,
        "applicant_key": applicant.identity_key[:300] if applicant else None,
        "search_key": search_key(applicant, file_reference)[:1000],
    }
