"""What the composition root takes from people: the login pages, `eantrag user …`, the tables."""

from __future__ import annotations

from eantrag.component import Component, Routes
from identity.people.api import router
from identity.people.cli import user_app

COMPONENT = Component(
    name="people",
    routes=(Routes(router),),
    commands=(("user", user_app),),
    models=("identity.people.models",),
)
