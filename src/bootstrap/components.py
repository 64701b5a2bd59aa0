"""Every context of the installation, in the order their routes, workers and commands appear."""

from __future__ import annotations

import importlib

from archive.component import COMPONENT as ARCHIVE
from casefile.component import COMPONENT as CASEFILE
from eantrag.component import Component
from intake.component import COMPONENT as INTAKE
from routing.component import COMPONENT as ROUTING

COMPONENTS: tuple[Component, ...] = (INTAKE, ROUTING, CASEFILE, ARCHIVE)

# The infrastructure's own tables (outbox, queue, inline blobs, instance secrets, …).
INFRASTRUCTURE_MODELS = ("eantrag.models",)


def import_all_models() -> None:
    """Register every table on the shared metadata (for alembic)."""
    for module in (*INFRASTRUCTURE_MODELS, *(m for c in COMPONENTS for m in c.models)):
        importlib.import_module(module)
