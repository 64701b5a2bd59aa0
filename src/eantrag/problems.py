"""RFC 9457 problem details: every error the API returns has this shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://eantrag.de/problems/"


def problem_type(code: str) -> str:
    """The `type` URI of a problem code, in one scheme: the code with `.` and `_` as `-`
    (`casefile.invalid_transition` → `https://eantrag.de/problems/casefile-invalid-transition`).
    """
    return PROBLEM_BASE + code.replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class Violation:
    """One reason a request was refused; line/column/xpath only for XML."""

    code: str
    name: str
    reason: str
    line: int | None = None
    column: int | None = None
    xpath: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class ProblemError(Exception):
    """An expected error that becomes a problem+json response."""

    status = 400
    code = "bad_request"
    title = "Bad request"
    form_id: str | None = None  # the form concerned, once known (for metrics)

    def __init__(
        self,
        detail: str | None = None,
        violations: list[Violation] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.violations = violations or []
        self.headers = headers or {}

    def to_response(self, instance: str | None = None) -> JSONResponse:
        body: dict[str, Any] = {
            "type": problem_type(self.code),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.violations:
            body["invalid_params"] = [v.as_dict() for v in self.violations]
        return JSONResponse(
            body, status_code=self.status, media_type=PROBLEM_MEDIA_TYPE, headers=self.headers
        )


class NotFound(ProblemError):
    status = 404
    code = "not_found"
    title = "Not found"


class Unavailable(ProblemError):
    """A dependency (the database) is not reachable: try again after `Retry-After` seconds."""

    status = 503
    code = "unavailable"
    title = "Temporarily unavailable"


class InvalidParam(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    reason: str
    code: str | None = None
    line: int | None = None
    column: int | None = None
    xpath: str | None = None


class Problem(BaseModel):
    """Schema of problem+json responses for the OpenAPI document."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="Stable URI of the problem type.")
    title: str
    status: int
    detail: str | None = None
    code: str = Field(description="Stable machine-readable code.")
    instance: str | None = None
    invalid_params: list[InvalidParam] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}} for status in statuses}


async def problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return exc.to_response(instance=request.url.path)
