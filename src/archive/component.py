"""What the composition root takes from the archive context: its page, commands and tables."""

from __future__ import annotations

from archive.cli import archive_app
from archive.pages import routes as pages
from eantrag.component import Component, Routes

COMPONENT = Component(
    name="archive",
    routes=(Routes(pages.router),),
    commands=(("archive", archive_app),),
    models=("archive.models",),
)
