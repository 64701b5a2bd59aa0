"""Generates the README's configuration table from `Settings`, so the two cannot drift apart.

`python -m eantrag.configdoc README.md` rewrites the table between its markers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

from eantrag.settings import Settings

START = "<!-- config-table:start -->"
END = "<!-- config-table:end -->"


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined or field.default is None:
        return "—"
    else:
        value = field.default
    if isinstance(value, Path):
        return f"`{value}`"
    if isinstance(value, (dict, list)):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def config_table() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    rows = ["| variable | default | description |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{prefix}{name.upper()}` | {_default(field)} | {description} |")
    return "\n".join(rows)


def render_into(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{config_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "README.md")
    text = path.read_text()
    if START not in text or END not in text:
        print(f"{path} has no {START} … {END} markers", file=sys.stderr)
        return 1
    path.write_text(render_into(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
