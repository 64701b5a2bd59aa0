"""`eantrag user …`: local accounts of clerks, triage clerks, archivists and operators."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from eantrag.cli import choice, run_with_database
from eantrag.db import Database
from identity.people import service
from identity.people.errors import AccountError
from identity.people.models import User
from identity.people.principal import ROLES

user_app = typer.Typer(help="People who log in: local accounts.", no_args_is_help=True)
console = Console(stderr=True)


def _password_from_stdin() -> str:
    """The first line of standard input (never an argument: it would show in `ps`)."""
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        console.print("[red]refused:[/red] no password on standard input")
        raise typer.Exit(2)
    return password


PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (required).",
    ),
]


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -).")],
    role: Annotated[
        str,
        typer.Option(
            parser=choice(ROLES, "role"),
            metavar="ROLE",
            autocompletion=lambda: list(ROLES),
            help="clerk or archivist (of one authority), triage (the triage desk) or admin.",
        ),
    ],
    authority: Annotated[
        str | None,
        typer.Option(help="Authority id of the directory (required for clerk and archivist)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help='Display name, e.g. "Anna Beispiel" (shown in the audit).')
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a local account; the password is read from standard input and stored as argon2id."""
    if not password_stdin:
        raise typer.BadParameter("give the password on standard input with --password-stdin")
    password = _password_from_stdin()

    async def _create(db: Database) -> User:
        async with db.transaction() as session:
            return await service.create_user(
                session,
                username=username,
                role=role,
                authority_id=authority,
                display_name=name,
                password=password,
            )

    user = run_with_database(_create, refused=AccountError)
    console.print(
        f"[green]created[/green] {user.username} ({user.display_name}), {user.role} "
        f"of {user.authority_id or '—'}, id {user.id}"
    )


@user_app.command("list")
def user_list() -> None:
    """Every account: username, name, authority, role, source, state, last login."""

    async def _list(db: Database) -> list[User]:
        async with db.sessionmaker() as session:
            return await service.all_users(session)

    table = Table(box=None)
    for column in ("username", "name", "authority", "role", "source", "state", "last login", "id"):
        table.add_column(column)
    for user in run_with_database(_list, refused=AccountError):
        table.add_row(
            user.username,
            user.display_name,
            user.authority_id or "—",
            user.role,
            user.source,
            "disabled" if user.disabled_at else "active",
            user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never",
            str(user.id),
        )
    Console(width=200).print(table)


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="The account's username.")]) -> None:
    """Disable an account: it cannot log in, and its sessions end at once."""

    async def _disable(db: Database) -> User:
        async with db.transaction() as session:
            return await service.disable(session, username)

    user = run_with_database(_disable, refused=AccountError)
    console.print(f"[green]disabled[/green] {user.username}; its sessions have ended")


@user_app.command("set-password")
def user_set_password(
    username: Annotated[str, typer.Argument(help="The account's username.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (from standard input); the account's sessions end."""
    if not password_stdin:
        raise typer.BadParameter("give the password on standard input with --password-stdin")
    password = _password_from_stdin()

    async def _set(db: Database) -> User:
        async with db.transaction() as session:
            return await service.set_password(session, username, password)

    user = run_with_database(_set, refused=AccountError)
    console.print(f"[green]password set[/green] for {user.username}; its sessions have ended")
