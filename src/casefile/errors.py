"""The e-Akte's expected errors: API problems, and permanent failures of filing a message."""

from __future__ import annotations

from eantrag.broker import PermanentError
from eantrag.problems import NotFound, ProblemError, Violation

__all__ = [
    "AlreadyAssigned",
    "AlreadyFiled",
    "BlobMismatch",
    "CaseClosed",
    "CaseNotAssignable",
    "CaseNotFound",
    "DocumentCorrupted",
    "DocumentNotFound",
    "DocumentTooLarge",
    "EmptyDocument",
    "FilePlanInvalid",
    "Forbidden",
    "InvalidCursor",
    "InvalidTransition",
    "NoPlanUnit",
    "OutcomeRequired",
    "ReasonRequired",
    "ReopenNotAllowed",
    "TriageItemNotFound",
    "Unauthorized",
    "UnknownAuthority",
    "UnusableDecisionDocument",
    "Violation",
]


class Unauthorized(ProblemError):
    """No usable bearer token: missing, malformed, unknown, expired or revoked."""

    status = 401
    code = "casefile.unauthorized"
    title = "A valid bearer token is required"

    def __init__(self, detail: str, *, token_given: bool) -> None:
        challenge = 'Bearer realm="eantrag"'
        if token_given:
            challenge += ', error="invalid_token"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(ProblemError):
    status = 403
    code = "casefile.forbidden"
    title = "The token's role does not allow this"


class CaseNotFound(NotFound):
    code = "casefile.case_not_found"
    title = "No such case"


class DocumentNotFound(NotFound):
    code = "casefile.document_not_found"
    title = "No such document"


class TriageItemNotFound(NotFound):
    code = "casefile.triage_item_not_found"
    title = "No such triage item"


class InvalidCursor(ProblemError):
    status = 400
    code = "casefile.invalid_cursor"
    title = "The cursor is not one this API handed out"


class MessageRequired(ProblemError):
    status = 422
    code = "casefile.message_required"
    title = "The citizen must be told what to send"


class InvalidTransition(ProblemError):
    status = 409
    code = "casefile.invalid_transition"
    title = "The case cannot move to that state from its current one"


class CaseClosed(ProblemError):
    status = 409
    code = "casefile.case_closed"
    title = "The case is closed"


class ReopenNotAllowed(ProblemError):
    status = 409
    code = "casefile.reopen_not_allowed"
    title = "The file's retention period has ended; it can no longer be reopened"


class OutcomeRequired(ProblemError):
    status = 422
    code = "casefile.outcome_required"
    title = "A decision needs an outcome"


class ReasonRequired(ProblemError):
    status = 422
    code = "casefile.reason_required"
    title = "Ein Ablehnungsbescheid braucht eine Begründung"


class UnusableDecisionDocument(ProblemError):
    status = 422
    code = "casefile.unusable_decision_document"
    title = "The decision document must be an uploaded document of this case"


class AlreadyAssigned(ProblemError):
    status = 409
    code = "casefile.already_assigned"
    title = "The triage item was already assigned"


class AlreadyFiled(ProblemError):
    status = 409
    code = "casefile.already_filed"
    title = "The application is already filed"


class UnknownAuthority(ProblemError):
    status = 422
    code = "casefile.unknown_authority"
    title = "The directory has no such authority"


class DocumentCorrupted(ProblemError):
    """The blob store returned bytes that do not match the recorded hash."""

    status = 500
    code = "casefile.document_integrity"
    title = "The stored document does not match its recorded hash"


class EmptyDocument(ProblemError):
    status = 422
    code = "casefile.empty_document"
    title = "The document is empty"


class DocumentTooLarge(ProblemError):
    status = 413
    code = "casefile.document_too_large"
    title = "The document is too large"


class BlobMismatch(PermanentError):
    """A document the message references is not what its hash says."""


class NoPlanUnit(PermanentError):
    """The authority's file plan has no unit for the service and no catch-all unit."""


class FilePlanInvalid(ValueError):
    """A file plan to import is not usable; `problems` says why, line by line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class CaseNotAssignable(ProblemError):
    status = 409
    code = "casefile.case_not_assignable"
    title = "The case can no longer be assigned"
