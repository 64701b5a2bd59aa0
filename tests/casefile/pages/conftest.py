"""The clerk's pages run on the embedded default and on PostgreSQL, with the demo directory."""

from __future__ import annotations

import pytest

from eantrag.runtime import Runtime
from tests.routing.support import import_example


@pytest.fixture
async def directory(runtime: Runtime) -> None:
    await import_example(runtime.db)
