"""Archiving commands (`eantrag archive …`): retention, offer, appraisal, export, confirmation.

Each command is one transaction: the archive's record and the case file's deletions commit
together; blob files nobody references any more are removed after the commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from archive import steps
from archive.errors import ArchiveError
from archive.package import verify_package
from archive.schema import VERSIONS, SchemaCheck
from archive.service import ArchiveService, ConfirmResult, ExportResult, Plan
from eantrag.authorities import require_known_authority
from eantrag.db import Database
from eantrag.logs import configure_logging
from eantrag.runtime import open_blob_store
from eantrag.settings import Settings

archive_app = typer.Typer(help="xdomea Aussonderung to the state archive.", no_args_is_help=True)
# soft_wrap: a path longer than the terminal is left whole for the terminal to wrap, so that it
# can be copied; rich would break it mid-name.
console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def _known_authority(value: str) -> str:
    require_known_authority(value)
    return value


AuthorityOpt = Annotated[
    str,
    typer.Option(
        "--authority",
        help="The authority's id (eantrag directory authorities).",
        callback=_known_authority,
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Reference date, 2037-01-01 or 01.01.2037 (default: today)."),
]
OutOpt = Annotated[Path, typer.Option("--out", help="Directory for the messages written.")]


class XdomeaVersion(StrEnum):
    v3_0_0 = "3.0.0"
    v3_1_0 = "3.1.0"


assert tuple(XdomeaVersion) == VERSIONS, "the choices are the versions archive.schema knows"
VersionOpt = Annotated[
    XdomeaVersion, typer.Option("--xdomea-version", help="The xdomea version to write.")
]


def _no_schema_check(what: str) -> Any:
    """--no-schema-check, with help that says what it means for this command."""
    return typer.Option("--no-schema-check", help=f"Without EANTRAG_XDOMEA_SCHEMA_DIR: {what}.")


YesOpt = Annotated[
    bool, typer.Option("--yes", help="Delete without asking (for scripts); the plan is printed.")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print what would be sent and deleted; change nothing.")
]


def _show_plan(plan: Plan) -> None:
    table = Table(title="Plan", show_lines=False)
    table.add_column("Aktenzeichen")
    table.add_column("Schritt")
    table.add_column("Warum")
    for reference, why in plan.delete:
        table.add_row(reference, "[red]löschen[/red]", why)
    for reference in plan.transfer:
        table.add_row(reference, "abgeben", "")
    for reference, why in plan.kept:
        table.add_row(reference, "behalten", why)
    console.print(table)


def _approve(plan: Plan, yes: bool, dry_run: bool) -> None:
    """Show the plan; stop on --dry-run; deletions need --yes or a `y` at the prompt."""
    _show_plan(plan)
    if dry_run:
        console.print("dry run: nothing changed")
        raise typer.Exit(0)
    if not plan.delete or yes:
        return
    question = f"{len(plan.delete)} case(s) will be deleted from the e-Akte. Continue?"
    try:
        agreed = typer.confirm(question, default=False)
    except typer.Abort:  # no terminal, or end of input
        agreed = False
    if not agreed:
        console.print("nothing changed (answer y, or pass --yes)")
        raise typer.Exit(1)


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    for form in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, form).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"{value!r} is not a date (2037-01-01 or 01.01.2037)")


def _schema(settings: Settings, skip: bool) -> SchemaCheck:
    try:
        return SchemaCheck(settings.xdomea_schema_dir, skip=skip)
    except ArchiveError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _run(
    settings: Settings, skip_schema: bool, work: Callable[[ArchiveService], Awaitable[T]]
) -> T:
    """One transaction around `work`, then the blob clean-up; archive errors exit with 1."""
    schema = _schema(settings, skip_schema)

    async def _go() -> T:
        db = Database(settings.effective_database_url, pool_size=settings.db_pool_size)
        blobs = open_blob_store(settings, db)
        try:
            return await steps.run(db, blobs, settings, schema, work)
        finally:
            await blobs.close()
            await db.dispose()

    try:
        return asyncio.run(_go())
    except ArchiveError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


@archive_app.command("due")
def due(authority: AuthorityOpt, as_of: AsOfOpt = None) -> None:
    """List the closed cases whose retention period has ended and that no process holds."""
    settings = _settings()
    day = _as_of(as_of)
    cases = _run(settings, True, lambda s: s.due(authority, day))
    table = Table("Aktenzeichen", "closed", "unit", "retention", "disposal")
    for case in cases:
        years = case.unit.retention.years
        table.add_row(
            case.aktenzeichen,
            case.closed_at.date().isoformat(),
            case.unit.kennzeichen,
            "unlimited" if years is None else f"{years} years",
            case.unit.disposal,
        )
    Console().print(table)
    console.print(f"{len(cases)} case(s) due as of {day.isoformat()}")


@archive_app.command("offer")
def offer(
    authority: AuthorityOpt,
    out: OutOpt,
    as_of: AsOfOpt = None,
    xdomea_version: VersionOpt = XdomeaVersion.v3_0_0,
    no_schema_check: Annotated[
        bool, _no_schema_check("write the 0501 offer list unvalidated")
    ] = False,
) -> None:
    """Write a 0501 offer list (metadata only) of the due cases and start a process."""
    settings = _settings()
    day, version = _as_of(as_of), xdomea_version.value
    result = _run(
        settings, no_schema_check, lambda s: s.offer(authority, day, out, version=version)
    )
    if result is None:
        console.print(f"nothing to offer: no case of {authority} is due as of {day.isoformat()}")
        return
    console.print(
        f"[green]offered[/green] {len(result.cases)} case(s), process {result.process_id}: "
        f"{result.path}"
    )


@archive_app.command("appraise")
def appraise(
    message: Annotated[Path, typer.Argument(help="The archive's 0502 (XML or ZIP).", exists=True)],
    out: Annotated[Path, typer.Option("--out", help="Directory for the 0505 receipt.")] = Path("."),
    no_schema_check: Annotated[
        bool, _no_schema_check("read the 0502 and write the 0505 receipt unvalidated")
    ] = False,
) -> None:
    """Record the archive's appraisal (0502: A or V per case) and write the 0505 receipt."""
    settings = _settings()
    result = _run(settings, no_schema_check, lambda s: s.appraise(message, out))
    console.print(
        f"[green]appraisal recorded[/green] for process {result.process_id}: "
        f"{len(result.taken)} to transfer (A), {len(result.destroyed_later)} to destroy (V); "
        f"receipt {result.receipt}"
    )


class _ExportBar:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def started(self, process_id: uuid.UUID, cases: int, total_bytes: int) -> None:
        self.task = self.progress.add_task(
            f"{process_id} ({cases} cases)", total=max(total_bytes, 1)
        )

    def advanced(self, cases: int, written_bytes: int) -> None:
        if self.task is not None and written_bytes:
            self.progress.advance(self.task, written_bytes)


@archive_app.command("export")
def export(
    authority: AuthorityOpt,
    out: OutOpt,
    as_of: AsOfOpt = None,
    xdomea_version: VersionOpt = XdomeaVersion.v3_0_0,
    no_schema_check: Annotated[
        bool, _no_schema_check("write the 0503 packages unvalidated")
    ] = False,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Write one 0503 ZIP per process: the appraised four-step processes (A only; V cases are
    deleted with a record), then all other due cases as one two-step process. Shows the plan
    first; deleting asks for confirmation unless --yes."""
    settings = _settings()
    day, version = _as_of(as_of), xdomea_version.value
    plan: Plan = _run(settings, no_schema_check, lambda s: s.export_plan(authority, day))
    _approve(plan, yes, dry_run)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        bar = _ExportBar(progress)
        result: ExportResult = _run(
            settings,
            no_schema_check,
            lambda s: s.export(authority, day, out, version=version, progress=bar),
        )
    for process in result.processes:
        where = process.path or "no package (nothing taken over)"
        console.print(
            f"[green]{process.variant}[/green] {process.process_id}: {len(process.cases)} "
            f"case(s) → {where}"
            + (f"; destroyed {len(process.destroyed)}" if process.destroyed else "")
        )
    if result.not_transferred_v:
        console.print(
            f"{len(result.not_transferred_v)} due case(s) coded V were not sent: offer them "
            "(0501) so the archive can agree to their destruction"
        )
    if not result.processes:
        console.print(f"nothing to export for {authority} as of {day.isoformat()}")


@archive_app.command("confirm")
def confirm(
    message: Annotated[Path, typer.Argument(help="The archive's 0506 (XML or ZIP).", exists=True)],
    no_schema_check: Annotated[
        bool, _no_schema_check("read the 0506 without checking it against the XSD")
    ] = False,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Apply the archive's import confirmation (0506): delete what it took, report the rest.
    Shows the cases it will delete first and asks, unless --yes."""
    settings = _settings()
    plan: Plan = _run(settings, no_schema_check, lambda s: s.confirm_plan(message))
    _approve(plan, yes, dry_run)
    result: ConfirmResult = _run(settings, no_schema_check, lambda s: s.confirm(message))
    for reference, archive_id in result.archived:
        console.print(f"[green]archived[/green] {reference} → {archive_id or '(no reference)'}")
    for reference, errors in result.failed:
        console.print(f"[red]import failed[/red] {reference}: {'; '.join(errors) or '?'} (kept)")
    for object_id in result.unknown:
        console.print(f"[red]unknown object[/red] {object_id} (not exported in this process)")
    if result.pending:
        console.print(f"still awaiting confirmation: {', '.join(result.pending)}")
    if not result.ok:
        raise typer.Exit(1)


@archive_app.command("verify")
def verify(
    package: Annotated[Path, typer.Argument(help="A 0503 ZIP.", exists=True)],
    no_schema_check: Annotated[
        bool, _no_schema_check("check the packaging rules and the manifest, not the XSD")
    ] = False,
) -> None:
    """Check a 0503 package against the packaging rules, the XSD and its manifest."""
    settings = _settings()
    report = verify_package(package, _schema(settings, no_schema_check))
    for problem in report.problems:
        console.print(f"[red]✗[/red] {problem}")
    if not report.ok:
        raise typer.Exit(1)
    console.print(
        f"[green]ok[/green] process {report.process_id}, xdomea {report.version}, "
        f"{len(report.primary_files)} primary file(s)"
    )
