"""The directory as plain data: what an import file says, before it touches the database.

Both importers (XZuFi 2.2 and CSV) produce a `DirectoryBatch`; the service applies it. Keeping the
parsed form free of the ORM lets the parsers be tested on their own and keeps a rejected object
from ever reaching a session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from contracts.values import (
    AREA_KEY_LENGTHS,
    ARS_URN_PREFIX,
    LEIKA_URN_PREFIX,
    InvalidKey,
    area_key,
    area_urn,
    leika_key,
    leika_urn,
)

__all__ = [
    "AREA_KEY_LENGTHS",
    "ARS_URN_PREFIX",
    "LEIKA_URN_PREFIX",
    "InvalidKey",
    "area_key",
    "area_urn",
    "leika_key",
    "leika_urn",
]

_POSTCODE = re.compile(r"\d{5}")
# Authority ids become queue names and AMQP routing keys: keep them plain.
_AUTHORITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


def prefixes(ars: str) -> list[str]:
    """The area keys containing `ars`, most specific first."""
    return [ars[:n] for n in AREA_KEY_LENGTHS if n <= len(ars)]


def postcode(value: str) -> str:
    value = value.strip()
    if not _POSTCODE.fullmatch(value):
        raise InvalidKey(f"{value!r} is not a postcode (5 digits)")
    return value


def authority_id(value: str) -> str:
    value = value.strip()
    if not _AUTHORITY_ID.fullmatch(value):
        raise InvalidKey(
            f"{value!r} is not a usable authority id (letters, digits, '_.:-', at most 100)"
        )
    return value


@dataclass(frozen=True)
class AuthorityData:
    id: str
    name: str
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    ars: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ResponsibilityData:
    authority_id: str
    leika_key: str
    area_key: str
    role: str | None = None


@dataclass(frozen=True)
class PostcodeData:
    postcode: str
    ars: str
    place: str | None = None


@dataclass(frozen=True)
class Rejection:
    """An object of the file that was not imported, and why."""

    kind: str
    ref: str
    reason: str
    line: int | None = None


@dataclass
class DirectoryBatch:
    """Everything one import file says. Every authority named here is described completely.

    `authorities_touched` are the authorities whose responsibilities the file replaces: those it
    defines and those it lists responsibilities for.
    """

    services: dict[str, str] = field(default_factory=dict)
    service_ids: dict[str, str] = field(default_factory=dict)
    authorities: dict[str, AuthorityData] = field(default_factory=dict)
    responsibilities: list[ResponsibilityData] = field(default_factory=list)
    postcodes: list[PostcodeData] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    _seen: set[tuple[str, str, str]] = field(default_factory=set, repr=False)

    @property
    def authorities_touched(self) -> set[str]:
        return set(self.authorities) | {r.authority_id for r in self.responsibilities}

    def add_responsibilities(
        self, authority_id: str, leika_key: str, area_keys: list[str], role: str | None = None
    ) -> None:
        for area in area_keys:
            if (authority_id, leika_key, area) not in self._seen:
                self._seen.add((authority_id, leika_key, area))
                self.responsibilities.append(
                    ResponsibilityData(authority_id, leika_key, area, role)
                )

    def reject(self, kind: str, ref: str, reason: str, line: int | None = None) -> None:
        self.rejected.append(Rejection(kind, ref, reason, line))

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1
