"""The `eantrag` command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bootstrap.components import COMPONENTS
from eantrag import __version__, authorities, heap, schema
from eantrag.cli import choice
from eantrag.logs import configure_logging
from eantrag.metrics import serve_metrics
from eantrag.runtime import OUTBOX_RELAY
from eantrag.settings import Settings
from routing import cli as routing_cli

app = typer.Typer(
    help="eantrag: online applications into the e-Akte and the archive.",
    no_args_is_help=True,
    add_completion=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
for component in COMPONENTS:
    for name, commands in component.commands:
        app.add_typer(commands, name=name)
# Every --authority of every context is checked against routing's directory.
authorities.provide(routing_cli.authority_ids)
# soft_wrap: long paths are left whole for the terminal to wrap, never broken mid-name by rich.
console = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"eantrag {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """eantrag: online applications into the e-Akte and the archive."""


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations (SQLite or PostgreSQL, as configured)."""
    settings = _settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    schema.upgrade(settings.effective_database_url, revision)
    console.print(f"[green]database at {revision}[/green]: {_safe_url(settings)}")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[
        bool,
        typer.Option(
            "--workers/--no-workers",
            help="Run the pipeline workers in this process too; "
            "--no-workers for API-only replicas.",
        ),
    ] = True,
) -> None:
    """Run the HTTP API (and, by default, every pipeline worker) in one process."""
    settings = _settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        schema.upgrade(settings.effective_database_url)
    _run_server(settings, host, port, workers=workers)


def _run_server(settings: Settings, host: str | None, port: int | None, *, workers: bool) -> None:
    import uvicorn

    from bootstrap.app import create_app

    uvicorn.run(
        create_app(settings, with_workers=workers),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        # Forwarded headers count only from EANTRAG_TRUSTED_PROXIES (eantrag.forwarded), not
        # from uvicorn's default of 127.0.0.1.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


# What `eantrag worker` takes, from the components' declarations (no runtime needed).
WORKER_NAMES = tuple(sorted([OUTBOX_RELAY, *(name for c in COMPONENTS for name in c.worker_names)]))


@app.command()
def worker(
    name: Annotated[
        str,
        typer.Argument(
            parser=choice(WORKER_NAMES, "worker"),
            metavar="NAME",
            autocompletion=lambda: list(WORKER_NAMES),
            help=f"Which worker to run: {', '.join(WORKER_NAMES)} "
            "(fitconnect only with the EANTRAG_FITCONNECT_* settings).",
            show_default=False,
        ),
    ],
) -> None:
    """Run one pipeline worker, for deployments that scale workers separately."""
    from bootstrap.app import run_workers, stop_workers
    from bootstrap.wiring import open_pipeline

    settings = _settings()
    heap.keep_freed_memory(settings.heap_keep_bytes)

    async def _run() -> None:
        runtime = await open_pipeline(settings)
        if name not in runtime.workers:
            # A declared worker this installation does not run (FIT-Connect not configured).
            await runtime.close()
            console.print(
                f"[red]worker {name} is not configured here[/red]; "
                f"these run: {', '.join(sorted(runtime.workers))}"
            )
            raise typer.Exit(2)
        tasks = await run_workers(runtime, [name])
        if settings.worker_metrics_port is not None:
            serve_metrics(settings.host, settings.worker_metrics_port)
        if settings.gc_freeze:
            tasks.append(asyncio.create_task(heap.freeze_after_warm_up(), name="gc-freeze"))
        try:
            await asyncio.gather(*tasks)
        finally:
            await stop_workers(tasks)
            await runtime.close()

    asyncio.run(_run())


@app.command()
def retry(
    application_id: Annotated[str, typer.Argument(help="The application's id (UUID).")],
) -> None:
    """Re-drive one application: routing decides again if it was unroutable, its dead letters
    go back to their queues with the attempt count reset, and it is published again. An
    application that was routed is never delivered twice."""
    import uuid

    from bootstrap.wiring import retry_application
    from eantrag.runtime import open_runtime

    settings = _settings()
    try:
        parsed = uuid.UUID(application_id)
    except ValueError as exc:
        raise typer.BadParameter(f"{application_id!r} is not a UUID") from exc

    async def _retry() -> None:
        runtime = await open_runtime(settings)
        try:
            outcome = await retry_application(runtime, parsed)
        finally:
            await runtime.close()
        if not outcome.known:
            console.print(f"[red]unknown application[/red] {parsed}")
            raise typer.Exit(1)
        if outcome.routed_to:
            console.print(
                f"already routed to {outcome.routed_to}: not delivered again; its "
                "status event is sent again"
            )
        console.print(
            f"[green]re-driven[/green] {parsed}; dead letters moved back: "
            f"{outcome.dead_letters_moved}"
        )

    asyncio.run(_retry())


@app.command("workers")
def list_workers() -> None:
    """List the workers `eantrag worker` can run."""
    from bootstrap.wiring import open_pipeline

    settings = _settings()

    async def _names() -> list[str]:
        runtime = await open_pipeline(settings)
        try:
            return sorted(runtime.workers)
        finally:
            await runtime.close()

    for name in asyncio.run(_names()):
        typer.echo(name)


@app.command()
def demo(
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory for the demo (default: the configured one).")
    ] = None,
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running",
            help="Afterwards, serve eantrag on the demo's data (pages, API, workers) until "
            "Ctrl+C, to log in and work the filed examples in the browser.",
        ),
    ] = False,
    port: Annotated[
        int | None, typer.Option(help="Port for --keep-running (default from settings).")
    ] = None,
) -> None:
    """Submit every example on the embedded default and show what happens to each."""
    from bootstrap.demo import run_demo

    settings = _settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    if port is not None and settings.public_base_url is None:
        settings = settings.model_copy(update={"public_base_url": f"http://{settings.host}:{port}"})
    code = asyncio.run(run_demo(settings, console, keep_running=keep_running))
    if code != 0 or not keep_running:
        raise typer.Exit(code)
    console.print(
        f"[bold]eantrag runs at {settings.link_base_url}/[/bold] — log in at "
        f"{settings.link_base_url}/login with an account above; Ctrl+C stops it"
    )
    _run_server(settings, None, port, workers=True)


@app.command("openapi")
def openapi(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the OpenAPI document of the HTTP API."""
    from bootstrap.openapi import render_openapi

    text = render_openapi()
    if out:
        out.write_text(text)
    else:
        typer.echo(text, nl=False)
