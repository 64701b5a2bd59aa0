"""Helpers for the browser tests: people and their login, filed and unroutable applications,
the accessibility check with the vendored axe-core.

The fixtures in `tests/web/conftest.py` put these together; tests may call them directly for
anything a fixture does not cover (a third clerk, another application).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from casefile.models import TriageItem, Vorgang
from eantrag.db import Database
from tests.conftest import EXAMPLES, new_message
from tests.identity.people.support import PASSWORD, make_user
from tests.identity.people.support import login as login_over_http

if TYPE_CHECKING:
    from playwright.async_api import Page

VENDOR = Path(__file__).parent / "vendor"
AXE_SOURCE = VENDOR / "axe.min.js"
# WCAG 2.1 level A and AA: what BITV 2.0 asks of every screen, the clerk's included.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
DRESDEN_ID = "stadt-dresden"
LEIPZIG_ID = "stadt-leipzig"
# München: an ARS the Saxon example directory knows no authority for, so routing gives up.
UNKNOWN_ARS = "091620000000"
SETTLED = {"unroutable", "filed", "in_progress", "decided", "closed"}


@dataclass(frozen=True)
class Account:
    """A person who can log in: what the login form needs and what the header shows."""

    username: str
    password: str
    name: str
    role: str
    authority_id: str | None


async def make_account(
    db: Database,
    role: str,
    authority_id: str | None = None,
    *,
    name: str | None = None,
    username: str | None = None,
) -> Account:
    """A new local account (a fresh username each time, so tests never collide)."""
    username = username or f"{role}-{uuid.uuid4().hex[:8]}"
    name = name or f"Test {role.capitalize()}"
    await make_user(db, username, role=role, authority_id=authority_id, name=name)
    return Account(username, PASSWORD, name, role, authority_id)


@dataclass(frozen=True)
class Submitted:
    """An application submitted through the real intake, as far as the pipeline took it."""

    application_id: str
    status: str
    status_url: str
    case_id: str | None = None
    authority_id: str | None = None
    file_reference: str | None = None


async def submit(api: httpx.AsyncClient, example: str, *, ars: str | None = None) -> str:
    """Submit `examples/<example>` as a message of its own (optionally with another ARS of the
    applicant); the status URL of its receipt."""
    document = new_message((EXAMPLES / example).read_bytes())
    if ars is not None:
        document = document.replace(b"146120000000", ars.encode(), 1)
    media = "application/json" if example.endswith(".json") else "application/xml"
    response = await api.post("/v1/applications", content=document, headers={"content-type": media})
    assert response.status_code == 202, response.text
    url: str = response.json()["statusUrl"]
    return url


async def wait_until_settled(
    api: httpx.AsyncClient,
    status_url: str,
    patience: float = 60.0,
    until: frozenset[str] | set[str] = SETTLED,
) -> dict[str, Any]:
    """Poll the status URL until the workers have filed the application or given it to triage
    (or until one of the statuses `until`)."""
    url = httpx.URL(status_url)
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        state: dict[str, Any] = (await api.get(url.path, params=dict(url.params))).json()
        if state.get("status") in until:
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the pipeline did not settle {url.path} in {patience} s: {state}")
        await asyncio.sleep(0.1)


async def submit_and_settle(
    api: httpx.AsyncClient, db: Database, example: str, *, ars: str | None = None
) -> Submitted:
    """Submit, wait for the workers, and look up the case (if one was filed)."""
    status_url = await submit(api, example, ars=ars)
    state = await wait_until_settled(api, status_url)
    application_id = state["applicationId"]
    async with db.sessionmaker() as session:
        case = await session.scalar(
            select(Vorgang).where(Vorgang.application_id == uuid.UUID(application_id))
        )
    return Submitted(
        application_id=application_id,
        status=state["status"],
        status_url=status_url,
        case_id=str(case.id) if case else None,
        authority_id=case.authority_id if case else None,
        file_reference=state.get("fileReference"),
    )


async def wait_for_triage(db: Database, application_id: str, patience: float = 60.0) -> None:
    """Wait until the triage worker has put the unroutable application on the desk (the
    citizen's status says "unroutable" a moment before)."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        async with db.sessionmaker() as session:
            if await session.get(TriageItem, uuid.UUID(application_id)) is not None:
                return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{application_id} did not reach the triage desk")
        await asyncio.sleep(0.1)


# --- the browser -----------------------------------------------------------------------------


async def log_in(page: Page, base_url: str, account: Account, next_url: str = "") -> None:
    """Log in through the real form, as a person would: labels, not selectors."""
    target = f"{base_url}/login" + (f"?next={next_url}" if next_url else "")
    await page.goto(target)
    await page.get_by_label("Benutzername").fill(account.username)
    await page.get_by_label("Passwort").fill(account.password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Anmelden").click()
    assert "/login" not in page.url, f"login of {account.username} failed: {page.url}"


async def log_in_http(client: httpx.AsyncClient, account: Account) -> None:
    """Log `client` (with a cookie jar) in through the login form, for server-side tests."""
    response = await login_over_http(client, account.username, account.password)
    assert response.status_code == 303, response.text


@contextlib.asynccontextmanager
async def person_client(base_url: str, account: Account) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client of the live server, logged in as `account` (cookies, no redirects
    followed): for the server-side checks of forms, CSRF and status codes."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await log_in_http(client, account)
        yield client


def _readable(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']}  {v['helpUrl']}")
        for node in v["nodes"][:10]:
            lines.append(f"    at {' '.join(node['target'])}")
            lines.append(f"       {node['html'][:200]}")
            for summary in (node.get("failureSummary") or "").splitlines():
                lines.append(f"       {summary}")
    return "\n".join(lines)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run the vendored axe-core on the page as it is now, with the WCAG 2.1 A/AA rules.

    Evaluated through the DevTools protocol, so the pages' Content-Security-Policy (scripts from
    'self' only) stays in force and untouched."""
    loaded = await page.evaluate("() => typeof window.axe")
    if loaded != "object":
        await page.evaluate(AXE_SOURCE.read_text(encoding="utf-8") + "\n;undefined")
    result: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({
                    target: n.target.map(String), html: n.html, failureSummary: n.failureSummary,
                })),
            }));
        }""",
        list(WCAG_TAGS),
    )
    return result


async def assert_accessible(page: Page) -> None:
    """Zero axe-core violations of WCAG 2.1 A/AA on the current page, else a readable list."""
    violations = await axe_violations(page)
    assert not violations, f"axe-core finds on {page.url}:\n{_readable(violations)}"
