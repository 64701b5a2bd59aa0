"""What the composition root takes from the e-Akte: its routes, workers and commands."""

from __future__ import annotations

from casefile import consumers
from casefile.api import router
from casefile.cli import audit_app, fileplan_app, token_app
from eantrag.component import Component, Routes

COMPONENT = Component(
    name="casefile",
    routes=(Routes(router),),
    workers=consumers.workers,
    commands=(("token", token_app), ("audit", audit_app), ("fileplan", fileplan_app)),
    models=("casefile.models",),
)
