"""The built-in code list Dateiformat 1.0 is the published one, code for code."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from archive import dateiformat
from archive.errors import ArchiveError
from bootstrap.wiring import open_pipeline
from eantrag.settings import Settings
from tests.conftest import shared_dir


def test_the_built_in_codes_are_the_published_list_verbatim() -> None:
    tree = etree.parse(str(shared_dir("xdomea", "codelists", "Dateiformat_1.0.xml")))
    assert tree.findtext("Identification/CanonicalUri") == dateiformat.URI
    assert tree.findtext("Identification/Version") == dateiformat.VERSION
    published = {}
    for row in tree.iter("Row"):
        values = {v.get("ColumnRef"): v.findtext("SimpleValue") for v in row.iter("Value")}
        published[values["Code"]] = values["Beschreibung"]
    assert dict(dateiformat.CODES) == published
    for extension, code in {"pdf": "018", "xml": "030", "html": "008", "txt": "045"}.items():
        assert dateiformat.BY_EXTENSION[extension] == code
        assert published[code].startswith(f"{extension} - ")
    assert published[dateiformat.PDF_ARCHIVAL] == "pdf - Portable Document Format (Archival)"
    assert published[dateiformat.SONSTIGES] == "Sonstiges"
    assert not any(d.startswith("json") for d in published.values())


async def test_a_configured_code_outside_the_list_stops_the_start_up(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, amqp_url=None, xdomea_format_codes={"xml": "XML-1"})
    with pytest.raises(ArchiveError, match=r"XML-1 is no code of the xdomea code list Dateiformat"):
        await open_pipeline(settings)
