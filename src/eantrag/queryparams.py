"""Unknown query parameters are refused, not ignored.

`/v1/cases?q=Richter` returned every case: a misspelt or unsupported filter looked like one that
matched everything. Every route accepts only the query parameters it declares.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from eantrag.problems import ProblemError, Violation


class UnknownQueryParameter(ProblemError):
    status = 400
    code = "unknown_query_parameter"
    title = "Unknown query parameter"


_ALLOWED: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _allowed(dependant: Any) -> frozenset[str]:
    """The route's query parameters, its dependencies' included (routes live as long as the app)."""
    key = id(dependant)
    if key not in _ALLOWED:
        _ALLOWED[key] = frozenset(_query_names(dependant))
    return _ALLOWED[key]


async def refuse_unknown_query_parameters(request: Request) -> None:
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None or not request.query_params:
        return
    allowed = _allowed(dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise UnknownQueryParameter(
            f"unknown query parameter(s) {', '.join(unknown)}; this endpoint takes: {known}",
            [
                Violation("query.unknown", name, f"not a parameter here; allowed: {known}")
                for name in unknown
            ],
        )
