"""What the composition root takes from the FIT-Connect destination."""

from __future__ import annotations

from eantrag.component import Component, Routes
from fitconnect_destination import consumers
from fitconnect_destination.api import router
from fitconnect_destination.cli import fitconnect_app

COMPONENT = Component(
    name="fitconnect",
    # The callback touches no database: it checks a MAC and wakes the worker.
    routes=(Routes(router, uses_database=False),),
    workers=consumers.workers,
    # only when EANTRAG_FITCONNECT_ENABLED
    worker_names=("fitconnect",),
    commands=(("fitconnect", fitconnect_app),),
    models=("fitconnect_destination.models",),
)
