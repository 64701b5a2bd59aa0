"""The metadata is checked against the schema its `$schema` names, or the newest known."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.forms import FORMS
from fitconnect_destination.problems import FITKO, Rejected
from fitconnect_destination.service import NEWEST_METADATA_SCHEMA, check_metadata
from intake.fitconnect import metadata_for
from tests.conftest import EXAMPLES, shared_dir

DOG = FORMS["hundeanmeldung"]


def metadata(**extra: Any) -> dict[str, Any]:
    data = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    return metadata_for(DOG, data, "application/xml", []) | extra


def test_the_shipped_schema_is_the_official_one() -> None:
    official = json.loads(shared_dir("fitconnect", "metadata.schema.v1.0.0.json").read_text())
    assert official["$id"] == NEWEST_METADATA_SCHEMA


@pytest.mark.parametrize(
    "schema",
    [
        None,
        NEWEST_METADATA_SCHEMA,
        # Not available here: checked against the newest known.
        "https://schema.fitko.de/fit-connect/metadata/2.1.0/metadata.schema.json",
    ],
)
def test_conforming_metadata_passes_whatever_schema_it_names(schema: str | None) -> None:
    check_metadata(metadata() if schema is None else metadata(**{"$schema": schema}))


def test_metadata_that_violates_the_schema_is_rejected_naming_the_place() -> None:
    broken = metadata()
    broken["contentStructure"]["data"]["hash"]["type"] = "md5"
    with pytest.raises(Rejected) as rejected:
        check_metadata(broken)
    (problem,) = rejected.value.problems
    assert problem.as_dict()["type"] == FITKO + "schema-violation"
    assert problem.instance == "metadata"
    assert "contentStructure/data/hash/type" in problem.detail
