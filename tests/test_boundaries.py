"""The boundary check (`lint-imports`, run by `./dev lint` and so by CI) passes on the code and
fails once the infrastructure imports a context."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run the check on `tree` (a copy of the repository's src/ and pyproject.toml) alone."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree / "src")},
    )


def copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_boundaries_hold(tmp_path: Path) -> None:
    result = lint_imports(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def with_import(tmp_path: Path, module: str, imported: str) -> Path:
    """A copy of the tree in which `module` (a path under src/) also imports `imported`."""
    tree = copy_tree(tmp_path)
    path = tree / "src" / module
    path.write_text(path.read_text() + f"\nimport {imported}  # noqa: E402,F401\n")
    return tree


def test_a_context_import_in_the_infrastructure_breaks_the_check(tmp_path: Path) -> None:
    result = lint_imports(with_import(tmp_path, "eantrag/settings.py", "intake.models"))
    assert result.returncode != 0
    assert "The infrastructure (eantrag) imports no context" in result.stdout
    assert "eantrag.settings -> intake.models" in result.stdout


def test_a_context_reading_another_context_breaks_the_check(tmp_path: Path) -> None:
    result = lint_imports(with_import(tmp_path, "intake/timeline.py", "routing.models"))
    assert result.returncode != 0
    assert "intake is not allowed to import routing" in result.stdout


def test_the_forms_published_language_imports_no_context(tmp_path: Path) -> None:
    """The forms sit in contracts, below every context that reads them."""
    result = lint_imports(with_import(tmp_path, "contracts/forms/labels.py", "intake.models"))
    assert result.returncode != 0
    assert "contracts.forms.labels -> intake.models" in result.stdout
