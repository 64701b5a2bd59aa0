"""What the commands of every context share: one database, opened for one piece of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import typer
from rich.console import Console

from eantrag.db import Database
from eantrag.logs import configure_logging
from eantrag.settings import Settings

T = TypeVar("T")
_console = Console(stderr=True, soft_wrap=True)


def run_with_database(
    work: Callable[[Database], Awaitable[T]],
    settings: Settings | None = None,
    *,
    refused: type[Exception] | tuple[type[Exception], ...] = (),
    configure_logs: bool = True,
) -> T:
    """Run `work` on the database of `settings` (default: the configured ones), closed
    afterwards. An error of `refused` is the operator's mistake: it is printed and the command
    exits with 2. `configure_logs=False` for a read inside a command that has set up its
    logging already (the directory's authority ids behind every --authority)."""
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings.log_format, settings.log_level)

    async def _go() -> T:
        db = Database(settings.effective_database_url, pool_size=2)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(_go())
    except refused as exc:
        _console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from exc


def choice(values: Sequence[str], what: str) -> Callable[[str], str]:
    """A parser for an argument or option that takes one of `values` (a typer `parser=`): a
    value outside them is refused naming them all."""

    def parse(value: str) -> str:
        if value not in values:
            raise typer.BadParameter(f"{value!r} is not a {what}; one of {', '.join(values)}")
        return value

    return parse
