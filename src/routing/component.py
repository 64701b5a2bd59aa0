"""What the composition root takes from routing: its routes, the router worker, its commands."""

from __future__ import annotations

from eantrag.component import Component, Routes
from routing import consumers
from routing.api import router
from routing.cli import directory_app

COMPONENT = Component(
    name="routing",
    routes=(Routes(router),),
    workers=consumers.workers,
    worker_names=("router",),
    commands=(("directory", directory_app),),
    models=("routing.models",),
)
