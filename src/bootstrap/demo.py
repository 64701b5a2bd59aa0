"""`eantrag demo`: every example through the pipeline on the embedded default, step by step."""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bootstrap.app import create_app
from bootstrap.wiring import open_pipeline
from contracts.forms import FORMS
from eantrag import schema
from eantrag.db import Database
from eantrag.paths import project_root
from eantrag.settings import Settings
from fitconnect_destination.demo import submit_through_standin
from identity.people.demo import demo_accounts
from identity.portals import service as portal_service
from intake import fitconnect
from routing import repository as routing_repository
from routing import service as routing_service
from routing.xzufi import read_xzufi

EXAMPLES = project_root() / "examples"
# Done as far as the pipeline goes: filed in an e-Akte (or waiting for triage).
DEMO_PORTAL = "Demo-Portal (eantrag demo)"
SETTLED = {"unroutable", "filed", "in_progress", "decided", "closed"}


@dataclass
class Case:
    title: str
    body: bytes
    content_type: str
    expect_accept: bool = True


FIT_CONNECT_REPLACES = b"9632f31f-42ff-461e-95ab-37f8840da00d"
FIT_CONNECT_MESSAGE_UUID = b"2e7d4c19-8a3b-4f56-9d0e-1b6a5c7f3e82"


def example_cases() -> list[Case]:
    cases = []
    for name in ("hundeanmeldung.xml", "hundeanmeldung.json", "wohngeld.xml", "wohngeld.json"):
        path = EXAMPLES / name
        media = "application/xml" if name.endswith(".xml") else "application/json"
        cases.append(Case(f"{name} as {media}", path.read_bytes(), media))
    # A message of its own: the same nachrichtenUUID again would be a repeat of wohngeld.xml.
    wohngeld = (
        (EXAMPLES / "wohngeld.xml")
        .read_bytes()
        .replace(FIT_CONNECT_REPLACES, FIT_CONNECT_MESSAGE_UUID, 1)
    )
    form = FORMS["wohngeld-mietzuschuss"]
    attachments = example_attachments(form, wohngeld)
    body, content_type = fitconnect.submission(form, wohngeld, "application/xml", attachments)
    cases.append(
        Case(
            f"wohngeld.xml + {len(attachments)} attachments as FIT-Connect submission",
            body,
            content_type,
        )
    )
    broken = (
        (EXAMPLES / "hundeanmeldung.xml")
        .read_bytes()
        .replace(b"276098100123456", b"000000000000000", 1)
    )
    cases.append(
        Case(
            "hundeanmeldung.xml with a broken transponder number",
            broken,
            "application/xml",
            expect_accept=False,
        )
    )
    return cases


def example_attachments(form: Any, document: bytes) -> list[fitconnect.OutgoingAttachment]:
    """The attachment files the Wohngeld example announces, from examples/attachments/."""
    from lxml import etree

    record = form.record_from_xml(etree.fromstring(document))
    out = []
    for ref in form.attachment_refs(record):
        filename = ref.get("dateiname") or ""
        path = EXAMPLES / "attachments" / filename
        media = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        out.append(
            fitconnect.OutgoingAttachment(ref["anlageId"], path.read_bytes(), media, filename)
        )
    return out


async def run_demo(settings: Settings, console: Console, *, keep_running: bool = False) -> int:
    console.rule("[bold]eantrag demo — embedded default")
    console.print(f"data directory  {settings.data_dir.resolve()}")
    console.print(f"database        {settings.effective_database_url}")
    console.print(f"queue           {'RabbitMQ' if settings.amqp_url else 'in-database queue'}")
    console.print(f"blob store      {settings.effective_blob_url}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await schema.upgrade_async(settings.effective_database_url)
    runtime = await open_pipeline(settings)
    await _import_demo_directory(runtime.db, console)
    app = create_app(settings, with_workers=True, runtime=runtime)
    failures = 0
    rows: list[tuple[str, str, str, str]] = []
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
                client.headers["Authorization"] = await _portal_token(runtime.db, client, console)
                forms = (await client.get("/v1/forms")).json()
                console.print(
                    "forms           " + ", ".join(f"{f['id']} ({f['service']})" for f in forms)
                )
                receipts: list[tuple[Case, dict[str, Any]]] = []
                for case in example_cases():
                    console.rule(case.title, style="dim")
                    response = await client.post(
                        "/v1/applications",
                        content=case.body,
                        headers={"content-type": case.content_type},
                    )
                    body = response.json()
                    if response.status_code == 202:
                        console.print(
                            f"[green]202 accepted[/green] id {body['applicationId']} "
                            f"sha256 {body['sha256'][:16]}… service {body['service']}"
                        )
                        receipts.append((case, body))
                    else:
                        console.print(
                            f"[yellow]{response.status_code} {body.get('title')}"
                            f"[/yellow]: {body.get('detail')}"
                        )
                        for param in body.get("invalid_params", []):
                            console.print(
                                f"   {param.get('code')} at {param.get('name')}: "
                                f"{param.get('reason')}"
                            )
                        rows.append((case.title, str(response.status_code), "rejected", "—"))
                    if (response.status_code == 202) != case.expect_accept:
                        failures += 1
                        console.print("[red]unexpected outcome[/red]")
                title = "wohngeld.xml + attachments, encrypted, via FIT-Connect (stand-in)"
                console.rule(title, style="dim")
                form = FORMS["wohngeld-mietzuschuss"]
                wohngeld = (EXAMPLES / "wohngeld.xml").read_bytes()
                received = await submit_through_standin(
                    runtime, console, form, wohngeld, example_attachments(form, wohngeld)
                )
                receipts.append((Case(title, wohngeld, "application/jose"), received))
                statuses = await _wait_for_pipeline(client, [r for _, r in receipts])
                for (case, _receipt), state in zip(receipts, statuses, strict=True):
                    where = " — ".join(
                        str(state[k]) for k in ("fileReference", "authority") if state.get(k)
                    )
                    rows.append((case.title, "202", state["status"], where or "—"))
        table = Table(title="what happened to each example")
        for column in ("example", "HTTP", "status", "file reference — authority"):
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        pending = [s for s in rows if s[2] == "received"]
        if pending:
            console.print(f"{len(pending)} application(s) are received and queued for routing.")
        await _print_accounts(runtime.db, settings, console, keep_running=keep_running)
    finally:
        await runtime.close()
    console.print(
        "[green]demo finished[/green]"
        if failures == 0
        else f"[red]{failures} unexpected outcome(s)[/red]"
    )
    return 1 if failures else 0


async def _portal_token(db: Database, client: httpx.AsyncClient, console: Console) -> str:
    """Register a demo portal (scope: Sachsen) and get its token as any portal would."""
    async with db.transaction() as session:
        portal = portal_service.create_client(session, DEMO_PORTAL, ["send:region:DE14"])
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(portal.row.client_id, portal.secret),
    )
    response.raise_for_status()
    token = response.json()
    console.print(
        f"portal          {portal.row.client_id} ({DEMO_PORTAL}), scope {token['scope']}, "
        f"token valid {token['expires_in']} s"
    )
    return f"Bearer {token['access_token']}"


async def _import_demo_directory(db: Database, console: Console) -> None:
    """The demo directory (Saxony, partly fictitious) unless a directory is there already."""
    path = EXAMPLES / "directory-sachsen.xml"
    async with db.transaction() as session:
        if await routing_repository.authority_ids(session):
            return
        report = await routing_service.import_directory(session, read_xzufi(path))
    console.print(f"directory       {path.name}: {report.authorities} authorities imported")


async def _print_accounts(
    db: Database, settings: Settings, console: Console, *, keep_running: bool
) -> None:
    """Log-ins for the demo's people; new passwords on every run, shown only here."""
    async with db.transaction() as session:
        accounts = await demo_accounts(session)
    table = Table(title="demo accounts (new passwords on every run)")
    # what is typed into the login form is never shortened, however narrow the terminal
    for column, values in (
        ("username", [a.username for a in accounts]),
        ("password", [a.password for a in accounts]),
    ):
        table.add_column(column, no_wrap=True, min_width=max(map(len, values), default=8))
    table.add_column("role", overflow="fold")
    for account in accounts:
        of = f" of {account.authority_id}" if account.authority_id else ""
        table.add_row(account.username, account.password, account.role + of)
    console.print(table)
    if not keep_running:
        console.print(
            f"log in at {settings.link_base_url}/login once `eantrag serve` runs (same data "
            "directory), or run `eantrag demo --keep-running`"
        )


async def _wait_for_pipeline(
    client: httpx.AsyncClient, receipts: list[dict[str, Any]], patience: float = 30.0
) -> list[dict[str, Any]]:
    """Poll each status URL until the pipeline has moved it on (or the time is up)."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        states = []
        for receipt in receipts:
            url = httpx.URL(receipt["statusUrl"])
            response = await client.get(url.path, params=dict(url.params))
            states.append(response.json())
        if all(s["status"] in SETTLED for s in states) or (
            asyncio.get_running_loop().time() > deadline
        ):
            return states
        await asyncio.sleep(0.2)
