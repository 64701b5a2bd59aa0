"""The command line as an operator uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eantrag", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
        cwd=ROOT,
    )


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = run("db", "upgrade", env={"EANTRAG_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "eantrag.db").exists()


def test_demo_runs_every_example_end_to_end(tmp_path: Path) -> None:
    result = run("demo", "--data-dir", str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.count("202 accepted") == 5
    assert "broken transponder number" in output and "422" in output
    assert "demo finished" in output
