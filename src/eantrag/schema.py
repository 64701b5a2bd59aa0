"""Database schema management: the tables are migrated by alembic (migrations/env.py registers
every table through `bootstrap.components.import_all_models`)."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from eantrag.paths import project_root


def alembic_config(url: str | None = None) -> Config:
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    if url:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Run the migrations (blocking; alembic's env runs its own event loop)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str | None = None, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)
