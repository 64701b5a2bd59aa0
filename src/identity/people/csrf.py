"""Protection of every state-changing request made with a cookie against cross-site forgery.

Logged in, the synchronizer token of the session: forms send it as the hidden field
`csrf_token` (`csrf_field` in the templates), htmx and scripts as the header `X-CSRF-Token`
(the base layout sets it for htmx). `CsrfChecked` is the dependency a form route adds.

Before the login there is no session row, so the login form's token sits in a short-lived cookie
signed with the installation's secret (`LoginState`), together with the OIDC request's state,
nonce and PKCE verifier; the form must echo the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response

from identity.people.errors import CsrfRejected
from identity.people.sessions import LoginRequired, current_session, is_secure, runtime_of

HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
LOGIN_COOKIE = "eantrag_login"
LOGIN_STATE_SECONDS = 15 * 60
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def submitted_token(request: Request) -> str | None:
    """The token the request carries: the header, or the form field of a form post."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    return None


def matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(
        str(expected).encode(), str(given).encode()
    )


async def check(request: Request) -> None:
    """Refuse (403) a state-changing request whose token is not the session's; without a
    session, send the person to the login."""
    if request.method in SAFE_METHODS:
        return
    active = await current_session(request)
    if active is None:
        raise LoginRequired(request.url.path)
    if not matches(active.csrf_token, await submitted_token(request)):
        raise CsrfRejected(
            "Die Anfrage kam ohne gültiges CSRF-Token. Laden Sie die Seite neu und "
            "versuchen Sie es noch einmal."
        )


CsrfChecked = Annotated[None, Depends(check)]


# --- before the login: a signed cookie -------------------------------------------------------


@dataclass
class LoginState:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    oidc: dict[str, str] | None = None
    expires: int = field(default_factory=lambda: int(time.time()) + LOGIN_STATE_SECONDS)


async def _key(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "people_login_key", None)
    if key is None:
        key = await runtime_of(request).secret("people-login-state")
        request.app.state.people_login_key = key
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def read_login_state(request: Request) -> LoginState | None:
    raw = request.cookies.get(LOGIN_COOKIE)
    if not raw or len(raw) > 4000 or "." not in raw:
        return None
    body, signature = raw.rsplit(".", 1)
    expected = hmac.new(await _key(request), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(signature)):
            return None
        data: dict[str, Any] = orjson.loads(_unb64(body))
        state = LoginState(csrf=str(data["csrf"]), oidc=data.get("oidc"), expires=int(data["exp"]))
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None
    return state if state.expires > time.time() else None


async def write_login_state(request: Request, response: Response, state: LoginState) -> None:
    body = _b64(orjson.dumps({"csrf": state.csrf, "oidc": state.oidc, "exp": state.expires}))
    signature = _b64(hmac.new(await _key(request), body.encode(), hashlib.sha256).digest())
    response.set_cookie(
        LOGIN_COOKIE,
        f"{body}.{signature}",
        max_age=LOGIN_STATE_SECONDS,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=is_secure(request, runtime_of(request).settings),
    )


def clear_login_state(request: Request, response: Response) -> None:
    response.delete_cookie(
        LOGIN_COOKIE,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=is_secure(request, runtime_of(request).settings),
    )
