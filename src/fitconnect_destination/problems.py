"""Why a submission is rejected: RFC 7807 problems for the `reject-submission` event.

A declarative table, like the form registry: each reason has a stable type URI. Where FITKO
documents a problem type for the reason (`https://schema.fitko.de/fit-connect/events/problems/…`,
from the FIT-Connect documentation of the event log), that type is used, so that senders can
react to it; the rest are eantrag's own, under `https://eantrag.de/problems/fitconnect/`, and
listed in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FITKO = "https://schema.fitko.de/fit-connect/events/problems/"
OURS = "https://eantrag.de/problems/fitconnect/"


@dataclass(frozen=True)
class ProblemType:
    type: str
    title: str


PROBLEM_TYPES: dict[str, ProblemType] = {
    "encryption-issue": ProblemType(FITKO + "encryption-issue", "Entschlüsselungsfehler"),
    "syntax-violation": ProblemType(FITKO + "syntax-violation", "Syntax-Fehler"),
    "schema-violation": ProblemType(FITKO + "schema-violation", "Schema-Fehler"),
    "hash-mismatch": ProblemType(FITKO + "hash-mismatch", "Prüfsumme stimmt nicht"),
    "missing-attachments": ProblemType(FITKO + "missing-attachments", "Fehlende Anlagen"),
    "attachments-mismatch": ProblemType(
        FITKO + "attachments-mismatch", "Anlagen stimmen nicht überein"
    ),
    "service-mismatch": ProblemType(FITKO + "service-mismatch", "Leistung stimmt nicht überein"),
    "unsupported-schema": ProblemType(FITKO + "unsupported-schema", "Schema nicht unterstützt"),
    # eantrag's own: FITKO documents no type for these.
    "too-large": ProblemType(OURS + "too-large", "Inhalt zu groß"),
    "form-invalid": ProblemType(OURS + "form-invalid", "Antrag ungültig"),
    # The message's nachrichtenUUID came before with other content (XÖV: never reused).
    "message-repeated": ProblemType(OURS + "message-repeated", "Nachricht bereits erhalten"),
}


@dataclass(frozen=True)
class Problem:
    """One reason for the rejection; `instance` names the part (`metadata`, `data`,
    `attachment:<id>`)."""

    reason: str
    detail: str
    instance: str

    def as_dict(self) -> dict[str, Any]:
        kind = PROBLEM_TYPES[self.reason]
        return {
            "type": kind.type,
            "title": kind.title,
            "detail": self.detail[:1000],
            "instance": self.instance,
        }


class Rejected(Exception):
    """The submission is answered with `reject-submission`; nothing is filed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.instance}: {p.detail}" for p in problems))
        self.problems = problems
