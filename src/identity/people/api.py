"""The login pages: `/login` (local account), `/login/oidc` (the operator's provider), `/logout`.

Pages, not API: they answer HTML and stay out of the OpenAPI document. `install` adds the static
assets and the page errors (a redirect to the login, the 403 page) to the app.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from identity.people import csrf, service, throttle
from identity.people.csrf import LoginState, matches, read_login_state, write_login_state
from identity.people.errors import AccountError, CsrfRejected
from identity.people.oidc import AuthRequest, OidcClient, OidcError
from identity.people.sessions import (
    COOKIE,
    LoginRequired,
    PageForbidden,
    Person,
    clear_session_cookie,
    client_address,
    current_session,
    runtime_of,
    set_session_cookie,
)
from web import errors as web_errors
from web import pages

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)
LANDING = "/"  # the Posteingang, or the start page of the person's role
WRONG = "Benutzername oder Passwort ist falsch, oder das Konto ist gesperrt."
NO_OIDC = "Die Anmeldung mit Dienstkonto ist nicht eingerichtet."
NOT_ALLOWED = (
    "Ihre Rolle erlaubt diese Seite nicht. Wenden Sie sich an den Betrieb, wenn Sie sie brauchen."
)


def safe_next(value: str | None) -> str:
    """Only a path of this site: no scheme, no host, no protocol-relative `//`."""
    if (
        not value
        or len(value) > 2000
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(c in value for c in "\r\n\t")
    ):
        return LANDING
    return value


async def render_page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page in the base layout, with the logged-in person (if any) and their CSRF token."""
    active = await current_session(request)
    values: dict[str, Any] = {
        "person": active.principal if active else None,
        "csrf_token": active.csrf_token if active else None,
        **(context or {}),
    }
    return pages.render(request, template, values, status_code=status_code, headers=headers)


async def error_page(
    request: Request,
    status_code: int,
    title: str,
    message: str,
    *,
    link: dict[str, str] | None = None,
) -> HTMLResponse:
    """The error page in the base layout (German, like every page)."""
    return await render_page(
        request,
        "error.html",
        {"title": title, "message": message, "link": link},
        status_code=status_code,
    )


def _oidc(request: Request) -> OidcClient | None:
    settings = runtime_of(request).settings
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    client: OidcClient | None = getattr(request.app.state, "people_oidc", None)
    if client is None:
        client = OidcClient(settings)
        request.app.state.people_oidc = client
    return client


async def _login_form(
    request: Request,
    state: LoginState,
    *,
    next_url: str,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
    username: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = await render_page(
        request,
        "login.html",
        {
            "login_csrf": state.csrf,
            "next": next_url,
            "error": error,
            "notice": notice,
            "username": username,
            "local_login": True,
            "oidc_login": _oidc(request) is not None,
        },
        status_code=status_code,
        headers=headers,
    )
    await write_login_state(request, response, state)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    abgemeldet: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    state = await read_login_state(request) or LoginState()
    notice = "Sie sind abgemeldet." if abgemeldet else None
    return await _login_form(request, state, next_url=safe_next(next), notice=notice)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()[:100]
    password = str(form.get("password") or "")
    next_url = safe_next(str(form.get("next") or ""))
    state = await read_login_state(request)
    if state is None or not matches(state.csrf, str(form.get("csrf_token") or "")):
        return await _login_form(
            request,
            LoginState(),
            next_url=next_url,
            status_code=403,
            username=username,
            error="Das Formular ist abgelaufen. Bitte melden Sie sich noch einmal an.",
        )
    if not username or not password:
        return await _login_form(
            request,
            state,
            next_url=next_url,
            status_code=400,
            username=username,
            error="Bitte geben Sie Benutzername und Passwort ein.",
        )
    runtime = runtime_of(request)
    address = client_address(request)
    limits = throttle.Limits.from_settings(runtime.settings)
    async with runtime.db.transaction() as session:
        outcome = await service.login_with_password(
            session, username=username, password=password, address=address, limits=limits
        )
        opened = None
        if outcome.user is not None:
            opened = await service.open_session(
                session,
                outcome.user,
                method="password",
                address=address,
                settings=runtime.settings,
                replaces=request.cookies.get(COOKIE),
            )
    if outcome.retry_after:
        log.warning(
            "people.login_throttled",
            username=username,
            address=address,
            retry_after=outcome.retry_after,
        )
        return await _login_form(
            request,
            state,
            next_url=next_url,
            status_code=429,
            username=username,
            headers={"Retry-After": str(outcome.retry_after)},
            error=(
                "Zu viele fehlgeschlagene Anmeldeversuche. Bitte versuchen Sie es in "
                f"{outcome.retry_after} Sekunden noch einmal."
            ),
        )
    if opened is None or outcome.user is None:
        log.warning("people.login_failed", username=username, address=address, method="password")
        return await _login_form(
            request, state, next_url=next_url, status_code=401, username=username, error=WRONG
        )
    return _logged_in(request, opened, next_url, outcome.user.username)


def _logged_in(
    request: Request, opened: service.OpenedSession, next_url: str, username: str
) -> Response:
    row = opened.row
    log.info(
        "people.login",
        user_id=str(row.user_id),
        username=username,
        method=row.method,
        address=row.address,
    )
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, request, opened.token)
    csrf.clear_login_state(request, response)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    active = await current_session(request)
    if active is not None:
        try:
            await csrf.check(request)
        except CsrfRejected as exc:
            return await error_page(request, 403, "Abmelden nicht möglich", exc.detail)
        runtime = runtime_of(request)
        async with runtime.db.transaction() as session:
            await service.end_session(session, request.cookies.get(COOKIE, ""))
        log.info("people.logout", user_id=active.principal.id)
    response = RedirectResponse("/login?abgemeldet=1", status_code=303)
    clear_session_cookie(response, request)
    return response


@router.get("/login/oidc")
async def oidc_start(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    client = _oidc(request)
    if client is None:
        return await error_page(request, 404, "Nicht eingerichtet", NO_OIDC)
    auth = AuthRequest.new()
    try:
        url = await client.authorization_url(auth)
    except OidcError as exc:
        log.error("people.oidc_unavailable", error=str(exc))
        return await error_page(request, 502, "Anmeldung nicht möglich", exc.german)
    state = LoginState(
        oidc={
            "state": auth.state,
            "nonce": auth.nonce,
            "verifier": auth.verifier,
            "next": safe_next(next),
        }
    )
    response = RedirectResponse(url, status_code=303)
    await write_login_state(request, response, state)
    return response


@router.get("/login/oidc/callback")
async def oidc_callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    client = _oidc(request)
    if client is None:
        return await error_page(request, 404, "Nicht eingerichtet", NO_OIDC)
    login_state = await read_login_state(request)
    expected = login_state.oidc if login_state else None
    again = {"href": "/login", "text": "Erneut anmelden"}
    if error:
        log.warning("people.login_failed", method="oidc", provider_error=error)
        return await error_page(
            request,
            400,
            "Anmeldung abgebrochen",
            "Der Anmeldedienst hat die Anmeldung nicht bestätigt.",
            link=again,
        )
    if (
        not expected
        or not code
        or not state
        or not secrets.compare_digest(state, expected["state"])
    ):
        log.warning("people.login_failed", method="oidc", reason="state does not match")
        return await error_page(
            request,
            400,
            "Anmeldung abgelaufen",
            "Bitte beginnen Sie die Anmeldung noch einmal.",
            link=again,
        )
    auth = AuthRequest(expected["state"], expected["nonce"], expected["verifier"])
    try:
        id_token = await client.exchange(code, auth)
        identity = client.identity(await client.verify_id_token(id_token, auth.nonce))
    except OidcError as exc:
        log.warning("people.login_failed", method="oidc", reason=str(exc))
        return await error_page(request, 403, "Anmeldung abgelehnt", exc.german, link=again)
    runtime = runtime_of(request)
    try:
        async with runtime.db.transaction() as session:
            user = await service.oidc_user(
                session,
                issuer=identity.issuer,
                subject=identity.subject,
                username=identity.username,
                display_name=identity.display_name,
                authority_id=identity.authority_id,
                role=identity.role,
            )
            if user.disabled_at is not None:
                raise AccountError(f"account {user.username!r} is disabled")
            opened = await service.open_session(
                session,
                user,
                method="oidc",
                address=client_address(request),
                settings=runtime.settings,
                replaces=request.cookies.get(COOKIE),
            )
    except AccountError as exc:
        log.warning("people.login_failed", method="oidc", subject=identity.subject, reason=str(exc))
        return await error_page(
            request,
            403,
            "Anmeldung abgelehnt",
            "Mit diesem Dienstkonto ist keine Anmeldung bei eantrag möglich.",
            link=again,
        )
    return _logged_in(request, opened, safe_next(expected.get("next")), user.username)


@router.get("/konto", response_class=HTMLResponse)
async def account(request: Request, person: Person) -> HTMLResponse:
    return await render_page(request, "account.html")


HOME = {"href": LANDING, "text": "Zur Startseite"}


async def _error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    return await error_page(request, status_code, title, message, link=HOME)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse("/login?" + urlencode({"next": exc.next_url}), status_code=303)


async def _page_forbidden(request: Request, exc: Exception) -> Response:
    return await error_page(
        request,
        403,
        "Keine Berechtigung",
        NOT_ALLOWED,
        link=HOME,
    )


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    """The API's clients get a problem; a person's browser the 403 page."""
    assert isinstance(exc, CsrfRejected)
    if not web_errors.wants_page(request):
        return exc.to_response(instance=request.url.path)
    return await error_page(request, 403, "Anfrage abgelehnt", exc.detail)


def install(app: FastAPI) -> None:
    """The static assets and the page errors on `app` (the routes come with the component)."""
    pages.add_templates("identity.people")
    pages.mount_static(app)
    web_errors.install(app, _error_page)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageForbidden, _page_forbidden)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
