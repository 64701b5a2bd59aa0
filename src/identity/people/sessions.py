"""The session cookie and the request's person: what pages and the clerk API depend on.

The cookie holds a random token (HttpOnly, SameSite=Lax, Secure behind https); the session itself
is a row (`people_sessions`) with its expiry, idle timeout and CSRF token. Pages that need a person
depend on `require_person` (no session: a redirect to `/login`); `require_role(...)` also checks
the role (else the 403 page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import APIKeyCookie

from eantrag.runtime import Runtime
from eantrag.settings import Settings
from identity.people import service
from identity.people.principal import Principal
from identity.people.service import ActiveSession

COOKIE = "eantrag_session"
_UNSET = object()

session_cookie = APIKeyCookie(
    name=COOKIE,
    auto_error=False,
    scheme_name="personSession",
    description=(
        "The session of a person logged in at `/login` (local account or OIDC). Requests that "
        "change something also send the session's CSRF token as `X-CSRF-Token`."
    ),
)


class LoginRequired(Exception):
    """A page needs a logged-in person; the app answers with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageForbidden(Exception):
    """The person's role does not allow this page; the app answers with the 403 page."""


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def is_secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.public_base_url.startswith("https://")


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    settings = runtime_of(request).settings
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request, settings),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    settings = runtime_of(request).settings
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request, settings)
    )


async def current_session(request: Request) -> ActiveSession | None:
    """The request's live session, looked up once per request."""
    cached = getattr(request.state, "people_session", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    token = request.cookies.get(COOKIE)
    active = None
    if token:
        runtime = runtime_of(request)
        async with runtime.db.sessionmaker() as session:
            active = await service.active_session(session, token, runtime.settings)
        if active is not None and active.stale:
            async with runtime.db.transaction() as session:
                await service.touch(session, active.key)
    request.state.people_session = active
    return active


async def current_person(request: Request) -> Principal | None:
    active = await current_session(request)
    return active.principal if active else None


async def require_person(request: Request) -> Principal:
    person = await current_person(request)
    if person is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return person


def require_role(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A page dependency: a logged-in person with one of `roles`."""

    async def dependency(person: Annotated[Principal, Depends(require_person)]) -> Principal:
        if person.role not in roles:
            raise PageForbidden(person.role)
        return person

    return dependency


Person = Annotated[Principal, Depends(require_person)]
