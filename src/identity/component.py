"""What the composition root takes from identity: the authorization server's routes, the
`client` and `keys` commands, and, at start-up, the rate limits and the portals' token check.

The region of an application is routing's to say; the composition root hands the port in.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from eantrag.component import Component, Routes
from eantrag.runtime import Runtime
from identity.portals.api import Portals, router
from identity.portals.cli import client_app, keys_app
from identity.portals.service import RegionLookup
from identity.ratelimit import RateLimits


def component(region_lookup: Callable[[Runtime], RegionLookup]) -> Component:
    async def startup(app: FastAPI, runtime: Runtime) -> None:
        settings = getattr(app.state, "settings", runtime.settings)
        app.state.rate_limits = RateLimits(settings)
        app.state.portals = Portals.open(settings, runtime.db, region_lookup(runtime))

    async def shutdown(app: FastAPI) -> None:
        await app.state.rate_limits.close()

    return Component(
        name="identity",
        routes=(Routes(router),),
        commands=(("client", client_app), ("keys", keys_app)),
        startup=startup,
        shutdown=shutdown,
        models=("identity.portals.models",),
    )
