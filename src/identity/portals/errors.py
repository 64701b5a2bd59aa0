"""The portals' expected errors, as problems; the OAuth2 ones also carry RFC 6749's `error`."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from eantrag.problems import ProblemError


class _WithMembers(ProblemError):
    """A problem with extension members beside the standard ones."""

    members: dict[str, Any]

    def to_response(self, instance: str | None = None) -> JSONResponse:
        response = super().to_response(instance)
        if not self.members:
            return response
        body = {**_body(response), **self.members}
        return JSONResponse(
            body, status_code=self.status, media_type=response.media_type, headers=self.headers
        )


def _body(response: JSONResponse) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(bytes(response.body))
    return value


class OAuthError(_WithMembers):
    """An error of the token endpoint (RFC 6749 §5.2): the problem plus its `error` code."""

    error = "invalid_request"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers={"Cache-Control": "no-store", **(headers or {})})
        self.members = {"error": self.error, "error_description": detail}


class InvalidRequest(OAuthError):
    status = 400
    code = "oauth.invalid_request"
    title = "The token request is malformed"
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Unknown client, wrong secret or a revoked client: the same answer for each."""

    status = 401
    code = "oauth.invalid_client"
    title = "Client authentication failed"
    error = "invalid_client"

    def __init__(self, detail: str = "unknown client or wrong secret") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Basic realm="eantrag"'})


class UnsupportedGrantType(OAuthError):
    status = 400
    code = "oauth.unsupported_grant_type"
    title = "Only the client_credentials grant is supported"
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    status = 400
    code = "oauth.invalid_scope"
    title = "A requested scope was not granted to this client"
    error = "invalid_scope"


class Unauthenticated(_WithMembers):
    """No valid access token on a route that needs one (RFC 6750 §3)."""

    status = 401
    code = "portal.unauthorized"
    title = "A valid access token is required"

    def __init__(self, detail: str, *, token_given: bool) -> None:
        challenge = 'Bearer realm="eantrag"'
        if token_given:
            challenge += ', error="invalid_token"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})
        self.members = {}


class InsufficientScope(_WithMembers):
    """The token is valid but its scopes do not cover this application."""

    status = 403
    code = "portal.insufficient_scope"
    title = "The access token does not cover this application"

    def __init__(self, detail: str, *, missing_scope: str) -> None:
        super().__init__(
            detail,
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="eantrag", error="insufficient_scope", scope="{missing_scope}"'
                )
            },
        )
        self.members = {"missing_scope": missing_scope}
