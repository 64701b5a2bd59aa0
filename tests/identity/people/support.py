"""Helpers for people tests: accounts, the login form, a live HTTP server of the app."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import uvicorn
from fastapi import FastAPI

from eantrag.db import Database
from identity.people import service
from identity.people.models import User

PASSWORD = "korrekt-Pferd-Batterie-42"
DRESDEN_ID = "stadt-dresden"
LEIPZIG_ID = "stadt-leipzig"
_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_ALERT = re.compile(r'role="alert"[^>]*>.*?<p class="kern-body">(.*?)</p>', re.DOTALL)


async def make_user(
    db: Database,
    username: str,
    *,
    role: str = "clerk",
    authority_id: str | None = DRESDEN_ID,
    name: str = "Anna Beispiel",
    password: str = PASSWORD,
) -> User:
    async with db.transaction() as session:
        return await service.create_user(
            session,
            username=username,
            role=role,
            authority_id=authority_id,
            display_name=name,
            password=password,
        )


def form_token(html: str, action: str | None = None) -> str:
    """The CSRF field of the page's first form (or of the form posting to `action`)."""
    if action is not None:
        html = html[html.index(f'action="{action}"') :]
    found = _HIDDEN.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def page_token(html: str) -> str:
    """The session's CSRF token as the base layout carries it (for htmx and scripts)."""
    found = _META.search(html)
    assert found, "the page carries no session CSRF token"
    return found.group(1)


def alert(html: str) -> str | None:
    found = _ALERT.search(html)
    return found.group(1).strip() if found else None


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, next_url: str = ""
) -> httpx.Response:
    """Fill in the login form as a browser does: load it, then post it with its token."""
    page = await client.get("/login")
    assert page.status_code == 200
    return await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": form_token(page.text, "/login"),
            "next": next_url,
        },
    )


@contextlib.asynccontextmanager
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """The app served by uvicorn on a free local port, in this event loop: real HTTP."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
