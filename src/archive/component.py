"""What the composition root takes from the archive context: its commands and tables."""

from __future__ import annotations

from archive.cli import archive_app
from eantrag.component import Component

COMPONENT = Component(
    name="archive",
    commands=(("archive", archive_app),),
    models=("archive.models",),
)
