"""What the composition root takes from intake: its routes, workers and start-up hook."""

from __future__ import annotations

from fastapi import FastAPI

from eantrag.component import Component, Routes
from eantrag.runtime import Runtime, Worker
from intake import redrive
from intake.api import router, schemas_router
from intake.service import StatusTokens


def _workers(runtime: Runtime) -> dict[str, Worker]:
    return redrive.workers(runtime)


async def _startup(app: FastAPI, runtime: Runtime) -> None:
    app.state.status_tokens = StatusTokens(await runtime.secret("status-token"))


COMPONENT = Component(
    name="intake",
    routes=(Routes(router), Routes(schemas_router, uses_database=False)),
    workers=_workers,
    worker_names=("routing-sweeper",),
    startup=_startup,
    models=("intake.models",),
)
