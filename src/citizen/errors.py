"""Problems of the citizen's back channel."""

from __future__ import annotations

from eantrag.problems import ProblemError


class BescheidCorrupted(ProblemError):
    status = 500
    code = "citizen.bescheid_corrupted"
    title = "The stored Bescheid does not match its recorded SHA-256"
