"""A person logs in through the form, over real HTTP: the session cookie, the page layout, the
throttle after failed attempts, disabled accounts, CSRF, logout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select, update

from bootstrap.app import create_app
from eantrag.db import utcnow
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from identity.people import service
from identity.people.api import render_page
from identity.people.csrf import CsrfChecked
from identity.people.models import PersonSession
from identity.people.principal import Principal
from identity.people.sessions import require_role
from tests.identity.people.support import (
    PASSWORD,
    alert,
    form_token,
    live_server,
    login,
    make_user,
    page_token,
)

pytestmark = pytest.mark.usefixtures("directory")


@pytest.fixture
async def http(runtime: Runtime, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client talking to the app over a real socket (uvicorn), like a browser would."""
    app = create_app(settings, runtime=runtime)
    async with (
        live_server(app) as url,
        httpx.AsyncClient(base_url=url, follow_redirects=False) as client,
    ):
        yield client


async def test_the_login_form_is_german_accessible_and_in_the_kern_layout(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="de">' in html
    assert '<label class="kern-label" for="username">Benutzername</label>' in html
    assert '<label class="kern-label" for="password">Passwort</label>' in html
    assert 'id="username" name="username"' in html and 'id="password" name="password"' in html
    assert '<span class="kern-label">Anmelden</span>' in html
    assert "<header" in html and '<main id="inhalt"' in html and "<footer" in html
    assert 'href="#inhalt"' in html  # skip link to the main landmark
    assert "https://" not in html  # nothing from a CDN
    for asset in ("/static/kern/kern.min.css", "/static/kern/fonts/fira-sans.css"):
        assert asset in html
        served = await http.get(asset)
        assert served.status_code == 200 and served.headers["content-type"].startswith("text/css")
    font = await http.get("/static/kern/fonts/fira-sans/FiraSans-Regular.woff2")
    assert font.status_code == 200 and font.content[:4] == b"wOF2"
    htmx = await http.get("/static/htmx/htmx.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.content[:2000]
    css = (await http.get("/static/eantrag.css")).text
    assert ":focus-visible" in css  # visible focus
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_a_local_user_logs_in_through_the_form(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime.db, "anna.beispiel", name="Anna Beispiel")
    anonymous = await http.get("/konto")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fkonto"

    response = await login(http, "Anna.Beispiel", next_url="/konto")
    assert response.status_code == 303 and response.headers["location"] == "/konto"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("eantrag_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on a test socket; see the https test below

    page = await http.get("/konto")
    assert page.status_code == 200
    assert "Anna Beispiel" in page.text and "Landeshauptstadt Dresden" in page.text
    assert "Sachbearbeitung" in page.text
    assert '<form method="post" action="/logout">' in page.text  # the logout button
    async with runtime.db.sessionmaker() as session:
        rows = list(await session.scalars(select(PersonSession)))
    assert [row.user_id for row in rows] == [user.id]
    token = http.cookies["eantrag_session"]
    assert rows[0].id == service.session_key(token) != token  # only the hash is stored


async def test_the_login_rotates_the_session_id(http: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_user(runtime.db, "anna")
    await login(http, "anna")
    first = http.cookies["eantrag_session"]
    await login(http, "anna")
    second = http.cookies["eantrag_session"]
    assert first != second
    async with runtime.db.sessionmaker() as session:
        keys = set(await session.scalars(select(PersonSession.id)))
    assert keys == {service.session_key(second)}  # the old one is gone, not merely replaced


async def test_five_wrong_passwords_are_throttled(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_user(runtime.db, "anna")
    for _ in range(5):
        wrong = await login(http, "anna", "falsches-Passwort-123")
        assert wrong.status_code == 401
        assert "eantrag_session" not in http.cookies
    # Throttled now: even the right password is not looked at.
    throttled = await login(http, "anna", PASSWORD)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 30
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in (alert(throttled.text) or "")
    assert "eantrag_session" not in http.cookies
    # An unknown username is throttled the same way: the answer does not tell them apart.
    for _ in range(5):
        assert (await login(http, "niemand", "falsches-Passwort-123")).status_code == 401
    assert (await login(http, "niemand", "falsches-Passwort-123")).status_code == 429


async def test_the_answer_never_says_whether_the_user_exists(
    http: httpx.AsyncClient, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    await make_user(runtime.db, "anna")
    wrong_password = await login(http, "anna", "falsches-Passwort-123")
    unknown_user = await login(http, "niemand", "falsches-Passwort-123")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert alert(wrong_password.text) == alert(unknown_user.text) is not None
    assert 'aria-invalid="true"' in wrong_password.text
    # Operators see each failure and success in the log, never a password.
    assert (await login(http, "anna")).status_code == 303
    captured = capsys.readouterr()
    logged = captured.out + captured.err
    assert logged.count("people.login_failed") == 2 and "people.login " in logged
    assert "username=niemand" in logged and "address=127.0.0.1" in logged
    assert "falsches-Passwort-123" not in logged and PASSWORD not in logged


async def test_the_lockout_ends_and_grows_with_further_failures(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_user(runtime.db, "anna")
    for _ in range(5):
        await login(http, "anna", "falsches-Passwort-123")
    async with runtime.db.transaction() as session:  # the first lockout has run out
        await session.execute(
            update_throttle().values(locked_until=utcnow() - timedelta(seconds=1))
        )
    again = await login(http, "anna", "noch-falscher-123")
    assert again.status_code == 401
    throttled = await login(http, "anna", PASSWORD)
    assert throttled.status_code == 429
    assert 30 < int(throttled.headers["retry-after"]) <= 60  # doubled


def update_throttle():  # type: ignore[no-untyped-def]
    from identity.people.models import LoginThrottle

    return update(LoginThrottle).where(LoginThrottle.key == "account:anna")


async def test_one_address_is_throttled_across_usernames(
    runtime: Runtime, settings: Settings
) -> None:
    runtime.settings = settings.model_copy(update={"login_max_failures_per_address": 3})
    app = create_app(runtime.settings, runtime=runtime)
    async with live_server(app) as url, httpx.AsyncClient(base_url=url) as client:
        for name in ("a1", "a2", "a3"):
            assert (await login(client, name, "falsches-Passwort-123")).status_code == 401
        assert (await login(client, "a4", "falsches-Passwort-123")).status_code == 429


async def test_a_disabled_user_cannot_log_in_and_loses_the_session(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_user(runtime.db, "anna")
    assert (await login(http, "anna")).status_code == 303
    assert (await http.get("/konto")).status_code == 200
    async with runtime.db.transaction() as session:
        await service.disable(session, "anna")
    assert (await http.get("/konto")).status_code == 303  # the session ended with it
    refused = await login(http, "anna")
    assert refused.status_code == 401
    assert alert(refused.text) == alert((await login(http, "niemand", PASSWORD)).text)


async def test_logout_ends_the_session(http: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_user(runtime.db, "anna")
    await login(http, "anna")
    token = http.cookies["eantrag_session"]
    page = await http.get("/konto")
    out = await http.post("/logout", data={"csrf_token": form_token(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login?abgemeldet=1"
    assert "eantrag_session" not in http.cookies
    assert "Sie sind abgemeldet." in (await http.get("/login?abgemeldet=1")).text
    # The old cookie, replayed, opens nothing any more.
    async with httpx.AsyncClient(base_url=str(http.base_url)) as thief:
        thief.cookies.set("eantrag_session", token)
        assert (await thief.get("/v1/cases")).status_code == 401
        assert (await thief.get("/konto")).status_code == 303
    async with runtime.db.sessionmaker() as session:
        assert await session.scalar(select(PersonSession.id)) is None


async def test_logout_without_the_csrf_token_is_refused(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_user(runtime.db, "anna")
    await login(http, "anna")
    forged = await http.post("/logout", data={})
    assert forged.status_code == 403
    assert (await http.get("/konto")).status_code == 200  # still logged in
    wrong = await http.post("/logout", data={"csrf_token": "x" * 43})
    assert wrong.status_code == 403


async def test_the_login_form_needs_its_token(http: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_user(runtime.db, "anna")
    await http.get("/login")
    forged = await http.post(
        "/login", data={"username": "anna", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403 and "eantrag_session" not in http.cookies
    other = httpx.AsyncClient(base_url=str(http.base_url))  # no login cookie at all
    async with other:
        page = await http.get("/login")
        blind = await other.post(
            "/login",
            data={"username": "anna", "password": PASSWORD, "csrf_token": form_token(page.text)},
        )
    assert blind.status_code == 403


async def test_an_idle_or_expired_session_ends(http: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_user(runtime.db, "anna")
    await login(http, "anna")
    assert (await http.get("/konto")).status_code == 200
    idle = utcnow() - timedelta(seconds=runtime.settings.session_idle_seconds + 1)
    async with runtime.db.transaction() as session:
        await session.execute(update(PersonSession).values(last_seen_at=idle))
    assert (await http.get("/konto")).status_code == 303

    await login(http, "anna")
    async with runtime.db.transaction() as session:
        await session.execute(update(PersonSession).values(expires_at=utcnow()))
    assert (await http.get("/konto")).status_code == 303


async def test_the_next_parameter_stays_on_this_site(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_user(runtime.db, "anna")
    for hostile in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = await login(http, "anna", next_url=hostile)
        assert response.headers["location"] == "/"  # the start page (the Posteingang)


async def test_the_cookie_is_secure_behind_https(runtime: Runtime, settings: Settings) -> None:
    runtime.settings = settings.model_copy(update={"public_base_url": "https://eantrag.example.de"})
    app = create_app(runtime.settings, runtime=runtime)
    await make_user(runtime.db, "anna")
    async with live_server(app) as url, httpx.AsyncClient(base_url=url) as client:
        page = await client.get("/login")
        assert "Secure" in page.headers["set-cookie"]  # the login form's own cookie
        # httpx keeps a Secure cookie from plain http; a browser behind https sends it.
        client.cookies.set("eantrag_login", page.cookies["eantrag_login"])
        response = await client.post(
            "/login",
            data={"username": "anna", "password": PASSWORD, "csrf_token": form_token(page.text)},
        )
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]


async def test_the_layout_carries_the_session_csrf_token_for_htmx(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_user(runtime.db, "anna")
    await login(http, "anna")
    html = (await http.get("/konto")).text
    token = page_token(html)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in html
    assert form_token(html) == token


async def test_pages_built_on_the_layer_get_login_role_and_csrf_checks(
    runtime: Runtime, settings: Settings
) -> None:
    """What the workplace's pages will use: require_role, CsrfChecked, render_page."""
    app = create_app(settings, runtime=runtime)
    archivist = Depends(require_role("archivist"))

    @app.post("/archiv-probe")
    async def probe(request: Request, _: CsrfChecked, who: Principal = archivist) -> HTMLResponse:
        return await render_page(
            request, "error.html", {"title": "Probe", "message": f"ok {who.name}"}
        )

    await make_user(runtime.db, "anna")
    await make_user(runtime.db, "frieda", role="archivist", name="Frieda Archiv")
    async with live_server(app) as url, httpx.AsyncClient(base_url=url) as client:
        anonymous = await client.post("/archiv-probe")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
        await login(client, "anna")
        token = page_token((await client.get("/konto")).text)
        forbidden = await client.post("/archiv-probe", data={"csrf_token": token})
        assert forbidden.status_code == 403 and "Keine Berechtigung" in forbidden.text
        assert "Anna Beispiel" in forbidden.text  # the 403 page is in the layout
        await client.post("/logout", data={"csrf_token": token})
        await login(client, "frieda")
        token = page_token((await client.get("/konto")).text)
        bare = await client.post("/archiv-probe", data={})
        assert bare.status_code == 403, bare.text  # no token
        done = await client.post("/archiv-probe", data={"csrf_token": token})
        assert done.status_code == 200 and "ok Frieda Archiv" in done.text
        assert (await client.get("/login/oidc")).status_code == 404  # OIDC not configured
