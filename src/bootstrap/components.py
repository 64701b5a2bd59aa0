"""Every context of the installation, in the order their routes, workers and commands appear."""

from __future__ import annotations

import importlib

from archive.component import COMPONENT as ARCHIVE
from casefile.component import COMPONENT as CASEFILE
from citizen.component import COMPONENT as CITIZEN
from contracts import status
from eantrag.component import Component
from eantrag.runtime import Runtime
from fitconnect_destination.component import COMPONENT as FITCONNECT
from identity.component import component as identity_component
from identity.people.component import COMPONENT as PEOPLE
from identity.portals.service import RegionLookup
from intake import timeline
from intake.component import COMPONENT as INTAKE
from routing import service as routing_service
from routing.component import COMPONENT as ROUTING


def region_lookup(runtime: Runtime) -> RegionLookup:
    """Identity's port to routing's directory: which region (ARS) an applicant belongs to."""

    async def region_of(ars: str | None, postcode: str | None) -> str | None:
        async with runtime.db.sessionmaker() as session:
            return await routing_service.applicant_region(session, ars, postcode)

    return region_of


IDENTITY = identity_component(region_lookup)
# The citizen's timeline is intake's; routing and the e-Akte write to it through this port.
status.provide_timeline(timeline.write)
COMPONENTS: tuple[Component, ...] = (
    INTAKE,
    ROUTING,
    CASEFILE,
    CITIZEN,
    ARCHIVE,
    IDENTITY,
    PEOPLE,
    FITCONNECT,
)

# The infrastructure's own tables (outbox, queue, inline blobs, instance secrets, …).
INFRASTRUCTURE_MODELS = ("eantrag.models",)


def import_all_models() -> None:
    """Register every table on the shared metadata (for alembic)."""
    for module in (*INFRASTRUCTURE_MODELS, *(m for c in COMPONENTS for m in c.models)):
        importlib.import_module(module)
