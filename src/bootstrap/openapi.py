"""The committed OpenAPI document (docs/openapi.json) is rendered from the code by this."""

from __future__ import annotations

import json

from bootstrap.app import create_app
from eantrag.settings import Settings


def render_openapi() -> str:
    document = create_app(Settings()).openapi()
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
