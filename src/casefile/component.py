"""What the composition root takes from the e-Akte: its routes, workers and commands."""

from __future__ import annotations

from casefile import consumers, renderings
from casefile.api import router
from casefile.cli import audit_app, fileplan_app, token_app
from casefile.pages import posteingang, vorgang
from casefile.pages import triage as triage_page
from eantrag.component import Component, Routes
from eantrag.runtime import Runtime, Worker


def workers(runtime: Runtime) -> dict[str, Worker]:
    """Filing and triage, and the PDF/A renderings after filing."""
    return {**consumers.workers(runtime), **renderings.workers(runtime)}


COMPONENT = Component(
    name="casefile",
    routes=(
        Routes(router),
        Routes(posteingang.router),
        Routes(vorgang.router),
        Routes(triage_page.router),
    ),
    workers=workers,
    worker_names=("casefile", "triage", "renderer"),
    commands=(("token", token_app), ("audit", audit_app), ("fileplan", fileplan_app)),
    models=("casefile.models",),
)
