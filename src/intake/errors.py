"""Intake's expected errors, each a problem type with a stable code."""

from __future__ import annotations

from contracts.forms import FORMS
from eantrag.problems import ProblemError, Violation

__all__ = [
    "BadRequest",
    "Conflict",
    "Invalid",
    "Malformed",
    "TooLarge",
    "UnknownForm",
    "UnsupportedMediaType",
    "Violation",
]


class Malformed(ProblemError):
    status = 400
    code = "malformed"
    title = "The document is not well-formed"

    def __init__(self, violations: list[Violation], detail: str | None = None) -> None:
        super().__init__(detail or (violations[0].reason if violations else None), violations)


class Invalid(ProblemError):
    status = 422
    code = "invalid"
    title = "The application is not valid"

    def __init__(self, violations: list[Violation], detail: str | None = None) -> None:
        super().__init__(
            detail or f"{len(violations)} violation(s) of the form's rules", violations
        )


class UnknownForm(ProblemError):
    status = 422
    code = "unknown_form"
    title = "Unknown form"

    def __init__(self, detail: str) -> None:
        known = "; ".join(f"{form.id} ({form.namespace})" for form in FORMS.values())
        super().__init__(f"{detail}. The known forms: {known}; see GET /v1/forms")


class UnsupportedMediaType(ProblemError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class TooLarge(ProblemError):
    status = 413
    code = "too_large"
    title = "Request body too large"


class Conflict(ProblemError):
    status = 409
    code = "idempotency_conflict"
    title = "A repeated submission with different content"


class BadRequest(ProblemError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class BadSubmission(ProblemError):
    status = 400
    code = "bad_submission"
    title = "The submission is incomplete or inconsistent"

    def __init__(self, violations: list[Violation], detail: str | None = None) -> None:
        super().__init__(detail or (violations[0].reason if violations else None), violations)
