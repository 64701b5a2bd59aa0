"""`eantrag client …` (portals as OAuth2 clients) and `eantrag keys …` (their token keys)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from eantrag.cli import run_with_database
from eantrag.db import Database
from eantrag.settings import Settings
from identity.portals import keys, scopes, service
from identity.portals.models import PortalClient, SigningKey
from identity.portals.scopes import ScopeSyntaxError

client_app = typer.Typer(
    help="Portals: OAuth2 clients of the intake (client credentials).", no_args_is_help=True
)
keys_app = typer.Typer(help="The keys portal access tokens are signed with.", no_args_is_help=True)
console = Console(stderr=True)


@client_app.command("create")
def client_create(
    name: Annotated[str, typer.Argument(help='The portal, e.g. "Amt24 Sachsen".')],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="`send:region:DE<ARS prefix>` (DE everywhere, DE14 Sachsen) or "
            "`send:service:urn:de:fim:leika:leistung:<key>`; repeatable.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"client_id": …, "client_secret": …}.')
    ] = False,
) -> None:
    """Register a portal and print its client id and secret once; only a hash is stored."""
    wanted = scope or []
    try:
        for value in wanted:
            scopes.validate(value)
    except ScopeSyntaxError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope") from None

    async def _create(db: Database) -> service.NewClient:
        async with db.transaction() as session:
            return service.create_client(session, name, wanted)

    try:
        new = run_with_database(_create)
    except (ScopeSyntaxError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        typer.echo(
            orjson.dumps({"client_id": new.row.client_id, "client_secret": new.secret}).decode()
        )
        return
    console.print(
        f"portal {new.row.name!r} with scopes {' '.join(new.row.scopes)}; "
        "the secret is shown only now:"
    )
    typer.echo(f"client_id     {new.row.client_id}")
    typer.echo(f"client_secret {new.secret}")


@client_app.command("list")
def client_list() -> None:
    """Every portal: client id, name, scopes, created, state. Never a secret."""

    async def _list(db: Database) -> list[PortalClient]:
        async with db.sessionmaker() as session:
            return await service.all_clients(session)

    table = Table()
    for column in ("client id", "name", "scopes", "created", "state"):
        table.add_column(column)
    for row in run_with_database(_list):
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        table.add_row(
            row.client_id, row.name, " ".join(row.scopes), f"{row.created_at:%Y-%m-%d %H:%M}", state
        )
    Console(width=200).print(table)


@client_app.command("revoke")
def client_revoke(
    client_id: Annotated[str, typer.Argument(help="The client id (`eantrag client list`).")],
) -> None:
    """Refuse the portal new tokens; tokens already issued expire within their lifetime."""

    async def _revoke(db: Database) -> PortalClient | None:
        async with db.transaction() as session:
            return await service.revoke_client(session, client_id)

    row = run_with_database(_revoke)
    if row is None:
        console.print(f"[red]no portal {client_id!r}[/red]")
        raise typer.Exit(1)
    console.print(f"[green]revoked[/green] {row.client_id} ({row.name})")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Sign new tokens with a new key; the old one stays in the JWKS until its tokens expired."""

    settings = Settings()

    async def _rotate(db: Database) -> tuple[str, list[str]]:
        async with db.transaction() as session:
            return await keys.rotate(session, timedelta(seconds=settings.token_lifetime_seconds))

    new, retired = run_with_database(_rotate, settings)
    console.print(f"[green]signing with[/green] {new}")
    for kid in retired:
        console.print(f"retired {kid}: in the JWKS until its last token has expired")


@keys_app.command("list")
def keys_list() -> None:
    """Every key: kid, algorithm, created, state. Never the private key."""

    async def _list(db: Database) -> list[SigningKey]:
        async with db.sessionmaker() as session:
            return await keys.all_keys(session)

    table = Table()
    for column in ("kid", "alg", "created", "state"):
        table.add_column(column)
    for row in run_with_database(_list):
        if row.retired_at is None:
            state = "signing"
        else:
            state = f"retired; verifies until {row.verify_until:%Y-%m-%d %H:%M}"
        table.add_row(row.kid, row.algorithm, f"{row.created_at:%Y-%m-%d %H:%M}", state)
    Console(width=200).print(table)
