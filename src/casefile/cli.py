"""The e-Akte's commands: `eantrag token …`, `eantrag audit …`, `eantrag fileplan …`."""

from __future__ import annotations

import sys
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from casefile import audit, auth, filing, repository
from casefile.errors import FilePlanInvalid
from casefile.fileplan import DEFAULT_AUTHORITY, read_plan
from casefile.models import ApiToken
from eantrag.authorities import require_known_authority
from eantrag.cli import run_with_database
from eantrag.db import Database, utcnow

token_app = typer.Typer(help="Clerk API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
fileplan_app = typer.Typer(help="File plans (Aktenpläne) per authority.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


class Role(StrEnum):
    clerk = "clerk"
    triage = "triage"


# --- tokens ----------------------------------------------------------------------------------


@token_app.command("create")
def token_create(
    authority: Annotated[
        str | None,
        typer.Option(help="The authority whose cases the token sees (required for clerks)."),
    ] = None,
    role: Annotated[
        Role, typer.Option(help="clerk: one authority's cases; triage: the triage desk.")
    ] = Role.clerk,
    name: Annotated[str | None, typer.Option(help="Who holds it (shown in the audit).")] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="Expire after this many days; default: never.")
    ] = None,
) -> None:
    """Make a token and print it once; only its SHA-256 is stored."""
    if role == Role.clerk and not authority:
        raise typer.BadParameter("a clerk token needs --authority")
    if authority is not None:
        require_known_authority(authority)

    async def _create(db: Database) -> auth.IssuedToken:
        async with db.transaction() as session:
            return auth.issue(
                session,
                name=name or f"{role}@{authority or 'triage'}",
                authority_id=authority,
                role="triage" if role == "triage" else "clerk",
                expires_in_days=expires_in_days,
            )

    issued = run_with_database(_create)
    expiry = issued.row.expires_at.isoformat() if issued.row.expires_at else "never"
    console.print(
        f"token {issued.row.id} for {authority or '—'} ({role}), expires {expiry}; "
        "it is shown only now:"
    )
    typer.echo(issued.token)


@token_app.command("list")
def token_list() -> None:
    """Every token as a table: id, holder, authority, role, created, expires, state."""

    async def _list(db: Database) -> list[ApiToken]:
        async with db.sessionmaker() as session:
            return await auth.all_tokens(session)

    table = Table(title="tokens")
    for column in ("id", "name", "authority", "role", "created", "expires", "state"):
        # Ids and times are copied whole: never wrapped or cut.
        table.add_column(column, no_wrap=column in ("id", "created", "expires"))
    for row in run_with_database(_list):
        state = "revoked" if row.revoked_at else "active"
        if row.expires_at and row.revoked_at is None and row.expires_at <= utcnow():
            state = "expired"
        table.add_row(
            str(row.id),
            row.name,
            row.authority_id or "-",
            row.role,
            row.created_at.isoformat(timespec="seconds"),
            row.expires_at.isoformat(timespec="seconds") if row.expires_at else "never",
            state,
        )
    # A table as wide as it needs when the output is not a terminal (a pipe, a file).
    Console(width=None if sys.stdout.isatty() else 250).print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (UUID).")]) -> None:
    """Revoke a token at once."""
    try:
        parsed = uuid.UUID(token_id)
    except ValueError as exc:
        raise typer.BadParameter(f"{token_id!r} is not a token id") from exc

    async def _revoke(db: Database) -> bool:
        async with db.transaction() as session:
            return await auth.revoke(session, parsed) is not None

    if not run_with_database(_revoke):
        console.print(f"[red]no token {parsed}[/red]")
        raise typer.Exit(1)
    console.print(f"token {parsed} revoked")


# --- audit -----------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    authority: Annotated[
        str | None, typer.Option(help="Only this authority's cases (default: all).")
    ] = None,
) -> None:
    """Recompute every case's hash chain; exit 1 if an entry was changed, inserted or deleted."""

    async def _verify(db: Database) -> audit.Verification:
        async with db.sessionmaker() as session:
            return await audit.verify(session, authority)

    result = run_with_database(_verify)
    for item in result.breaks:
        typer.echo(
            f"BROKEN case {item.case_id} ({item.file_reference}) at entry {item.position}: "
            f"{item.problem}"
        )
    typer.echo(
        f"{result.cases} case(s), {result.entries} entries checked; "
        f"{len(result.breaks)} problem(s); root {result.root}"
    )
    if not result.ok:
        raise typer.Exit(1)


# --- file plans ------------------------------------------------------------------------------


@fileplan_app.command("import")
def fileplan_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A plan as JSON.")],
    authority: Annotated[
        str | None,
        typer.Option(help='Authority id; "*" replaces the default plan. Default: from the file.'),
    ] = None,
) -> None:
    """Replace an authority's file plan; existing files keep what they were filed with."""
    try:
        plan = read_plan(file)
    except FilePlanInvalid as exc:
        for problem in exc.problems:
            console.print(f"[red]{problem}[/red]")
        raise typer.Exit(1) from exc
    target = authority or plan.authority
    if not target:
        raise typer.BadParameter('name the authority with --authority (or "*" for the default)')

    async def _import(db: Database) -> None:
        async with db.transaction() as session:
            await filing.import_plan(session, target, plan)

    run_with_database(_import)
    what = "the default plan" if target == DEFAULT_AUTHORITY else f"the plan of {target}"
    console.print(f"{what}: {len(plan.units)} unit(s) imported")


@fileplan_app.command("show")
def fileplan_show(
    authority: Annotated[
        str, typer.Option(help='Authority id; "*" for the default plan.')
    ] = DEFAULT_AUTHORITY,
) -> None:
    """Print a plan as JSON, in the import format."""

    async def _show(db: Database) -> bytes:
        async with db.sessionmaker() as session:
            plan = await repository.plan_of(session, authority)
            if plan is None and authority == DEFAULT_AUTHORITY:
                plan = await filing.default_plan(session)
        if plan is None:
            return b""
        return orjson.dumps(plan.model_dump(mode="json", by_alias=True), option=orjson.OPT_INDENT_2)

    text = run_with_database(_show)
    if not text:
        console.print(f"{authority} has no plan yet; it gets the default one with its first file")
        raise typer.Exit(1)
    typer.echo(text.decode())
