"""What a context hands the composition root: its routes, workers, commands and start-up hook.

Each context describes itself in one `Component` (in its `component` module); `bootstrap`
assembles the HTTP app, the command line and the workers from the list of them. The
infrastructure defines the shape only and imports no context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter, FastAPI

    from eantrag.runtime import Runtime, Worker


@dataclass(frozen=True)
class Routes:
    router: APIRouter
    # Every route of the router reads or writes the database, so each can meet an outage (503).
    uses_database: bool = True


@dataclass(frozen=True)
class Component:
    name: str
    routes: Sequence[Routes] = ()
    workers: Callable[[Runtime], dict[str, Worker]] | None = None
    # the names `workers` can hand out, known without a runtime (the choices of `eantrag worker`)
    worker_names: Sequence[str] = ()
    # `eantrag <name> …` sub-commands, in the order they are listed
    commands: Sequence[tuple[str, typer.Typer]] = ()
    # runs in the API's lifespan once the runtime is open (e.g. to put state on `app.state`)
    startup: Callable[[FastAPI, Runtime], Awaitable[None]] | None = None
    # runs in the API's lifespan when it ends, before the runtime is closed
    shutdown: Callable[[FastAPI], Awaitable[None]] | None = None
    models: Sequence[str] = field(default=())  # modules whose import registers the ORM tables
