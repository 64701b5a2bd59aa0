"""What every download the API and the pages serve says about itself."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote


def content_disposition(
    filename: str, disposition: Literal["attachment", "inline"] = "attachment"
) -> str:
    """A download under its own name (RFC 6266: `filename*` in UTF-8), with an ASCII fallback
    for old browsers."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
