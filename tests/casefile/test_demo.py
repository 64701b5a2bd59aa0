"""`eantrag demo` shows every accepted example filed, with its file reference and authority."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from bootstrap.demo import run_demo
from eantrag.settings import Settings


async def test_the_demo_files_every_accepted_example(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=240, color_system=None)
    code = await run_demo(Settings(data_dir=tmp_path, database_url=None, amqp_url=None), console)
    text = out.getvalue()
    assert code == 0, text
    assert "directory-sachsen.xml: 10 authorities imported" in text
    rows = [line for line in text.splitlines() if "│ 202" in line]
    assert len(rows) == 5 and all("│ filed" in row for row in rows), text
    assert sum("022.31-" in row and "Dresden" in row for row in rows) == 2
    assert sum("500.21-" in row and "Leipzig" in row for row in rows) == 3
