"""`eantrag demo` prints a log-in for a clerk of every demo authority, a triage clerk and an
archivist; the printed password works at /login."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
from rich.console import Console

from bootstrap.app import create_app
from bootstrap.demo import run_demo
from eantrag.settings import Settings
from tests.identity.people.support import login

ROW = re.compile(r"│ (\S+)\s+│ (\S+)\s+│ (clerk|triage|archivist)(?: of ?(\S*))?\s+│")


async def test_the_demo_prints_accounts_that_log_in(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None, amqp_url=None, gc_freeze=False)
    out = io.StringIO()
    # a narrow terminal: what is typed into the login form is printed whole all the same
    code = await run_demo(settings, Console(file=out, width=100, color_system=None))
    text = out.getvalue()
    assert code == 0, text
    accounts = {m[1]: (m[2], m[3], m[4]) for m in ROW.finditer(text)}
    assert accounts["sb.stadt-dresden"][1:] == ("clerk", "stadt-dresden")
    assert accounts["sb.stadt-leipzig"][1:] == ("clerk", "stadt-leipzig")
    assert sum(role == "clerk" for _, role, _ in accounts.values()) == 10  # one per authority
    assert accounts["archiv"][1] == "archivist" and accounts["klaerstelle"][1] == "triage"
    assert "sb.lk-saechsische-schweiz-osterzgebirge" in accounts  # the longest, not cut short
    assert "log in at http://127.0.0.1:8000/login" in text

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            password = accounts["sb.stadt-leipzig"][0]
            assert (await login(client, "sb.stadt-leipzig", password)).status_code == 303
            inbox = (await client.get("/v1/cases")).json()
    # the three examples filed in Leipzig and the FIT-Connect submission of the demo
    assert len(inbox["items"]) == 4
