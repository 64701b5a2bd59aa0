"""Routing's commands (`eantrag directory …`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag import schema
from eantrag.cli import run_with_database
from eantrag.db import Database
from eantrag.logs import configure_logging
from eantrag.runtime import build_broker
from eantrag.settings import Settings
from routing import repository, service
from routing.directory import DirectoryBatch
from routing.errors import ImportFailed
from routing.models import Authority

directory_app = typer.Typer(
    help="The directory of services, authorities and responsibilities.", no_args_is_help=True
)
console = Console()
T = TypeVar("T")


class Format(StrEnum):
    xzufi = "xzufi"
    csv = "csv"


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        schema.upgrade(settings.effective_database_url)
    return settings


@directory_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="XZuFi 2.2 XML or eantrag directory CSV.",
        ),
    ],
    fmt: Annotated[
        Format | None,
        typer.Option("--format", help="Default: by extension (.xml, .csv), else by content."),
    ] = None,
) -> None:
    """Import the directory from XZuFi 2.2 (PVOG, Amt24 exports) or CSV.

    Every authority in the file is described completely by it: its previous responsibilities
    are replaced. Rejected objects and conflicts (two authorities for the same service and
    area) are listed. CSV rows, one per line (see src/routing/README.md):

    service,LEIKA,NAME · authority,ID,NAME,STREET,NO,POSTCODE,CITY,ARS,PHONE,EMAIL,URL ·
    responsibility,AUTHORITY-ID,LEIKA,AREA-KEY[,ROLE] · postcode,PLZ,ARS[,PLACE]
    """
    settings = _settings()
    try:
        batch = service.read_file(file, fmt.value if fmt else None)
    except ImportFailed as exc:
        console.print(f"[red]refused[/red] {file}: {exc}")
        raise typer.Exit(2) from exc
    report, declared = asyncio.run(_apply(settings, batch))
    _print_report(file, report, declared)


async def _apply(settings: Settings, batch: DirectoryBatch) -> tuple[service.ImportReport, str]:
    db = Database(settings.effective_database_url, pool_size=2)
    try:
        async with db.transaction() as session:
            report = await service.import_directory(session, batch)
        broker = build_broker(settings, db)
        try:
            await broker.start()
            for authority_id in report.authority_ids:
                await broker.declare_authority(authority_id)
            declared = f"{len(report.authority_ids)} authority inbox queue(s) declared"
        except Exception as exc:
            declared = (
                f"[yellow]queues not declared ({exc!r}); the router declares them when "
                "it starts or first routes to them[/yellow]"
            )
        finally:
            await broker.close()
    finally:
        await db.dispose()
    return report, declared


def _print_report(file: Path, report: service.ImportReport, declared: str) -> None:
    table = Table(title=f"imported {file.name}")
    table.add_column("objects")
    table.add_column("count", justify="right")
    for name, value in (
        ("services", report.services),
        ("authorities", report.authorities),
        ("responsibilities", report.responsibilities),
        ("postcode areas", report.postcodes),
        ("rejected", len(report.rejected)),
        ("conflicts", len(report.conflicts)),
    ):
        table.add_row(name, str(value))
    for name, value in sorted(report.skipped.items()):
        table.add_row(f"{name} (skipped)", str(value))
    console.print(table)
    if report.rejected:
        rejected = Table(title="rejected", title_style="bold red")
        for column in ("line", "object", "ref", "reason"):
            rejected.add_column(column)
        for r in report.rejected:
            rejected.add_row(str(r.line or ""), r.kind, r.ref, r.reason)
        console.print(rejected)
    if report.conflicts:
        conflicts = Table(
            title="conflicts: several authorities for one service and area",
            title_style="bold yellow",
        )
        for column in ("service", "area", "authorities"):
            conflicts.add_column(column)
        for c in report.conflicts:
            conflicts.add_row(c.leika_key, c.area_key, ", ".join(c.authority_ids))
        console.print(conflicts)
    console.print(declared)


def _read(settings: Settings, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One read of the directory, in a database connection of its own."""

    async def read(db: Database) -> T:
        async with db.sessionmaker() as session:
            return await query(session)

    return run_with_database(read, settings, configure_logs=False)


def _authorities(settings: Settings) -> list[Authority]:
    return _read(settings, repository.authorities)


def authority_ids(settings: Settings) -> list[str]:
    """The ids of the directory's authorities (what every --authority takes)."""
    return [a.id for a in _authorities(settings)]


@directory_app.command("authorities")
def authorities_command() -> None:
    """List the authorities of the directory: the ids that --authority takes."""
    table = Table(title="authorities")
    for column in ("id", "name", "city", "ARS"):
        table.add_column(column, no_wrap=column == "id", overflow="fold")
    for authority in _authorities(_settings()):
        table.add_row(authority.id, authority.name, authority.city or "", authority.ars or "")
    console.print(table)


@directory_app.command("show")
def show_command() -> None:
    """Show how much the directory holds and what the router decided so far."""
    settings = _settings()
    table = Table(title="directory")
    table.add_column("")
    table.add_column("count", justify="right")
    for name, value in _read(settings, repository.counts).items():
        table.add_row(name, str(value))
    console.print(table)
