"""Expected errors of people's accounts and logins."""

from __future__ import annotations

from eantrag.problems import ProblemError


class AccountError(ValueError):
    """A command about an account cannot be carried out; the message says why."""


class UnknownAuthority(AccountError):
    def __init__(self, authority_id: str, known: list[str]) -> None:
        listed = ", ".join(known) if known else "none — import a directory first"
        super().__init__(f"the directory has no authority {authority_id!r}; known ids: {listed}")
        self.known = known


class NotAuthenticated(ProblemError):
    """No valid session or token (the JSON API's answer; pages redirect to /login)."""

    status = 401
    code = "identity.unauthenticated"
    title = "Anmeldung erforderlich"


class CsrfRejected(ProblemError):
    status = 403
    code = "identity.csrf"
    title = "Die Anfrage trägt kein gültiges CSRF-Token"


class LoginRefused(ProblemError):
    """The OIDC provider's answer cannot log anyone in; the detail says why (in German)."""

    status = 403
    code = "identity.login_refused"
    title = "Anmeldung abgelehnt"
