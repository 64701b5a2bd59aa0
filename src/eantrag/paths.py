"""Where the files that ship beside the code live: migrations, schemas, examples.

From a source checkout they are found relative to this file; an installed package (the Docker
image) points `EANTRAG_HOME` at the directory that holds them.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    home = os.environ.get("EANTRAG_HOME")
    return Path(home).resolve() if home else Path(__file__).resolve().parents[2]
