"""Routing's errors: API problems and import failures."""

from __future__ import annotations

from eantrag.problems import NotFound, ProblemError


class InvalidRouteQuery(ProblemError):
    status = 400
    code = "routing.invalid_query"
    title = "Invalid route query"


class NoRoute(NotFound):
    code = "routing.no_route"
    title = "No responsible authority"


class ImportFailed(Exception):
    """The whole file was refused (unreadable, unsafe, or not the announced format)."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason if line is None else f"line {line}: {reason}")
        self.reason = reason
        self.line = line
