"""What the composition root takes from the citizen's back channel: the Bescheid route, the
`notifications` worker, the status page for intake's status URL, and its table."""

from __future__ import annotations

from fastapi import FastAPI

from citizen import consumers
from citizen.api import router
from citizen.page import status_page
from eantrag.component import Component, Routes
from eantrag.runtime import Runtime


async def _startup(app: FastAPI, runtime: Runtime) -> None:
    app.state.status_page = status_page  # intake's status route renders browsers this page


COMPONENT = Component(
    name="citizen",
    routes=(Routes(router),),
    workers=consumers.workers,
    worker_names=("notifications",),
    startup=_startup,
    models=("citizen.models",),
)
