"""Who is acting: one type for a person with a session and for a machine's bearer token.

The audit trail stores `actor` as text, hash-chained with the entry. Its form is
`<kind>:<id> <display name>` — kind and id never contain a space, so the three parts can be read
back (`Actor.parse`) for showing who did what, and the hash covers all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["person", "token", "system"]
Role = Literal["clerk", "triage", "archivist", "admin"]
ROLES: tuple[Role, ...] = ("clerk", "triage", "archivist", "admin")
ROLE_NAMES: dict[str, str] = {
    "clerk": "Sachbearbeitung",
    "triage": "Klärstelle",
    "archivist": "Archivierung",
    "admin": "Betrieb",
}
_ACTOR = re.compile(r"(?P<kind>[a-z]+):(?P<id>\S+) (?P<name>.+)", re.DOTALL)


class NoAuthority(Exception):
    """The principal belongs to no authority but asked for an authority's data."""


@dataclass(frozen=True)
class Actor:
    """The parts of an audit entry's `actor`; `kind` is None for entries in an older form."""

    kind: str | None
    id: str | None
    name: str

    @classmethod
    def parse(cls, actor: str) -> Actor:
        match = _ACTOR.fullmatch(actor)
        if match is None:
            return cls(None, None, actor)
        return cls(match["kind"], match["id"], match["name"])


@dataclass(frozen=True)
class Principal:
    """A person (logged in with a session) or a token (a Fachverfahren), as the API sees it."""

    kind: Kind
    id: str
    name: str
    authority_id: str | None
    role: str
    authority_name: str | None = None

    @property
    def scope(self) -> str:
        """The authority whose cases this principal may see."""
        if self.authority_id is None:
            raise NoAuthority(f"{self.kind} {self.id} belongs to no authority")
        return self.authority_id

    @property
    def actor(self) -> str:
        """How the audit trail names who acted: kind, id and display name."""
        return f"{self.kind}:{self.id} {self.name}"

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)
