"""What every benchmark shares: the results directory, the machine, the table, the JSON report."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

Column = tuple[str, str, str] | tuple[str, str, str, float]


def machine() -> dict[str, Any]:
    """Enough to tell two runs' machines apart, and how busy this one was."""
    load = os.getloadavg()
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
    }
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        info["cpu"] = model
    except (OSError, StopIteration):
        pass
    for tool, args in (("postgres", ["psql", "--version"]), ("xmllint", ["xmllint", "--version"])):
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=5, check=False)
            info[tool] = (out.stdout or out.stderr).splitlines()[0].strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            pass
    return info


def print_table(rows: list[dict[str, Any]], columns: list[Column]) -> None:
    cells = [[_cell(row, column) for column in columns] for row in rows]
    widths = [
        max(len(column[0]), *(len(line[i]) for line in cells)) if cells else len(column[0])
        for i, column in enumerate(columns)
    ]
    header = "  ".join(
        column[0].rjust(width) for column, width in zip(columns, widths, strict=True)
    )
    print(header)
    print("-" * len(header))
    for line in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def _cell(row: dict[str, Any], column: Column) -> str:
    value = row.get(column[1])
    if value is None:
        return "—"
    if len(column) == 4 and isinstance(value, int | float):
        value = value * column[3]
    return column[2].format(value)


def write_report(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written {path}", file=sys.stderr)
