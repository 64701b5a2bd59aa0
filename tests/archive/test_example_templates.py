"""The 0502 and 0506 templates in examples/ become valid messages once their placeholders are
filled in, as the README tells an archivist to do."""

from __future__ import annotations

import uuid
from pathlib import Path

from archive.messages import read_appraisal, read_import_confirmation
from archive.schema import SchemaCheck

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "xdomea"


def _filled(name: str, values: dict[str, str]) -> bytes:
    text = (EXAMPLES / name).read_text("utf-8")
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text.encode()


def test_the_templates_filled_in_are_valid_xdomea_messages(schema: SchemaCheck) -> None:
    process, take, destroy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    appraisal = read_appraisal(
        _filled(
            "0502-bewertungsverzeichnis.template.xml",
            {"PROZESS-ID": str(process), "AKTE-ID-1": str(take), "AKTE-ID-2": str(destroy)},
        ),
        schema,
    )
    assert appraisal.head.process_id == process
    assert appraisal.decisions == {take: "A", destroy: "V"}
    confirmation = read_import_confirmation(
        _filled(
            "0506-importbestaetigung.template.xml",
            {"PROZESS-ID": str(process), "AKTE-ID-1": str(take)},
        ),
        schema,
    )
    [outcome] = confirmation.outcomes
    assert (outcome.object_id, outcome.success, outcome.archive_id) == (
        take,
        True,
        "el_sta/2026/0815",
    )
