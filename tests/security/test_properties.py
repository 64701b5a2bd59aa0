"""Properties of the validator and the XML ↔ JSON mapping, on mutations of the valid examples.

Whatever the mutation: the validator answers with a problem (4xx) or accepts, never anything else
(which would be a 500); what it accepts passes an independent check (a whole-tree parse, the XSD on
the tree, the form's rules); the verdict does not depend on how the bytes are chunked; and an
accepted record maps to XML and back unchanged, and its XML twin is accepted with the same record.
"""

from __future__ import annotations

import copy
import io
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from contracts.forms import FORMS, FormSpec
from eantrag.problems import ProblemError
from intake.validation import ValidatedApplication, validate_json
from intake.xmlstream import XmlStreamValidator, finish_xml
from intake.xsd import schema_for
from tests.conftest import EXAMPLES, new_message

TODAY = date(2026, 11, 23)
STEM = {"hundeanmeldung": "hundeanmeldung", "wohngeld-mietzuschuss": "wohngeld"}
XML_EXAMPLES = {form: (EXAMPLES / f"{stem}.xml").read_bytes() for form, stem in STEM.items()}
JSON_EXAMPLES = {
    form: orjson.loads((EXAMPLES / f"{stem}.json").read_bytes()) for form, stem in STEM.items()
}
PROFILE = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- the checks


def validate_xml(document: bytes, chunk_sizes: list[int]) -> ValidatedApplication:
    validator = XmlStreamValidator(replay=lambda: io.BytesIO(document))
    position, step = 0, 0
    while position < len(document):
        size = chunk_sizes[step % len(chunk_sizes)] if chunk_sizes else len(document)
        validator.feed(document[position : position + size])
        position += size
        step += 1
    return finish_xml(validator, TODAY)


def verdict(run: Any) -> tuple[str, Any]:
    """("accepted", application) or ("refused", (status, code)); anything else propagates."""
    try:
        return "accepted", run()
    except ProblemError as problem:
        assert 400 <= problem.status < 500, problem
        return "refused", (problem.status, problem.code)


def independently_valid(form: FormSpec, document: bytes, record: dict[str, Any]) -> None:
    """The accepted bytes, parsed whole and validated on the tree, give the same record."""
    document.decode("utf-8")  # the intake accepts UTF-8 only
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    tree = etree.fromstring(document, parser)
    assert tree.getroottree().docinfo.doctype == ""
    schema_for(form.id).assertValid(tree)
    assert form.record_from_xml(tree) == record
    assert form.check_rules(record, TODAY) == []


def without_empty_lists(value: Any) -> Any:
    """A record as XML can carry it: an empty list is the same as an absent element."""
    if isinstance(value, dict):
        return {k: without_empty_lists(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [without_empty_lists(item) for item in value]
    return value


def round_trips(form: FormSpec, record: dict[str, Any]) -> None:
    """record → XML → record is exact, and the XML twin passes the streaming validator."""
    record = without_empty_lists(record)
    document = form.record_to_xml(record)
    independently_valid(form, document, record)
    twin = validate_xml(document, [])
    assert twin.form.id == form.id
    assert twin.record == record


# --------------------------------------------------------------------------- XML mutations

HOSTILE_PIECES = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#1;",
    b"&#x41;",
    b"'",
    b'"',
    b"/",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]>",
    b"<?x?>",
    b"<x/>",
    b"</x>",
    b"<!DOCTYPE r>",
    b"\xef\xbb\xbf",
    b" ",
    b"\n",
    b"0",
    b"9",
    b"a",
    b"\xc3\xa4",
    b"xmlns:x='u'",
    b"=",
]


@st.composite
def xml_mutation(draw: st.DrawFn) -> tuple[str, bytes]:
    form_id = draw(st.sampled_from(sorted(XML_EXAMPLES)))
    document = XML_EXAMPLES[form_id]
    kind = draw(st.sampled_from(["delete", "insert", "replace-text", "duplicate", "truncate"]))
    start = draw(st.integers(0, len(document) - 1))
    if kind == "delete":
        end = draw(st.integers(start, min(len(document), start + 40)))
        return form_id, document[:start] + document[end:]
    if kind == "insert":
        piece = draw(st.one_of(st.sampled_from(HOSTILE_PIECES), st.binary(max_size=8)))
        return form_id, document[:start] + piece + document[start:]
    if kind == "truncate":
        return form_id, document[:start]
    texts = [m for m in _text_spans(document)]
    span = draw(st.sampled_from(texts))
    if kind == "duplicate":
        element_start = document.rfind(b"<", 0, span[0])
        element_end = document.find(b">", span[1]) + 1
        element = document[element_start:element_end]
        return form_id, document[:element_end] + element + document[element_end:]
    value = draw(st.text(max_size=30)).encode("utf-8", "surrogatepass")
    return form_id, document[: span[0]] + value + document[span[1] :]


def _text_spans(document: bytes) -> list[tuple[int, int]]:
    """(start, end) of every non-blank text between a start and an end tag."""
    spans = []
    position = 0
    while True:
        close = document.find(b">", position)
        if close < 0:
            return spans
        following = document.find(b"<", close)
        if following < 0:
            return spans
        if (
            document[following + 1 : following + 2] == b"/"
            and document[close + 1 : following].strip()
        ):
            spans.append((close + 1, following))
        position = following


@pytest.mark.slow
@given(mutation=xml_mutation(), chunk_sizes=st.lists(st.integers(1, 700), min_size=1, max_size=4))
@PROFILE
def test_an_xml_mutation_is_refused_or_still_valid_however_it_is_chunked(
    mutation: tuple[str, bytes], chunk_sizes: list[int]
) -> None:
    form_id, document = mutation
    whole = verdict(lambda: validate_xml(document, []))
    chunked = verdict(lambda: validate_xml(document, chunk_sizes))
    if whole[0] == "accepted":
        independently_valid(FORMS[form_id], document, whole[1].record)
        assert chunked[0] == "accepted" and chunked[1].record == whole[1].record
    else:
        assert chunked[0] == "refused", "accepted only when chunked"


# --------------------------------------------------------------------------- JSON mutations

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=20)
    | st.sampled_from(["", " ", "2026-01-01", "0.00", "01069", "146120000000", "true"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@st.composite
def json_mutation(draw: st.DrawFn) -> tuple[str, bytes]:
    form_id = draw(st.sampled_from(sorted(JSON_EXAMPLES)))
    document = copy.deepcopy(JSON_EXAMPLES[form_id])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        kind = draw(st.sampled_from(["set", "delete", "add", "text"]))
        key = path[-1]
        if kind == "delete" and isinstance(parent, dict):
            del parent[key]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        elif kind == "text":
            parent[key] = draw(st.text(max_size=40))
        else:
            parent[key] = draw(json_values)
    try:
        return form_id, orjson.dumps(document)
    except TypeError:  # an integer beyond 64 bits: write it as text
        import json

        return form_id, json.dumps(document).encode()


@pytest.mark.slow
@given(mutation=json_mutation())
@PROFILE
def test_a_json_mutation_is_refused_or_maps_to_a_valid_xml_twin(
    mutation: tuple[str, bytes],
) -> None:
    form_id, data = mutation
    outcome, result = verdict(lambda: validate_json(data, today=TODAY))
    if outcome == "accepted":
        assert result.form.id == form_id or result.form.namespace == orjson.loads(data)["$schema"]
        round_trips(result.form, result.record)


@pytest.mark.slow
@given(
    value=st.text(min_size=1, max_size=60),
    field=st.sampled_from(
        [
            ("halter", "vorname"),
            ("halter", "familienname"),
            ("halter", "anschrift", "ort"),
            ("hund", "name"),
        ]
    ),
)
@PROFILE
def test_any_text_the_json_form_accepts_survives_the_xml_round_trip(
    value: str, field: tuple[str, ...]
) -> None:
    document = copy.deepcopy(JSON_EXAMPLES["hundeanmeldung"])
    target = document
    for step in field[:-1]:
        target = target[step]
    target[field[-1]] = value
    outcome, result = verdict(lambda: validate_json(orjson.dumps(document), today=TODAY))
    if outcome == "accepted":
        round_trips(result.form, result.record)
        assert _get(result.record, field) == value


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    for step in path:
        record = record[step]
    return record


def test_the_examples_pass_every_check() -> None:
    for form_id, document in XML_EXAMPLES.items():
        application = validate_xml(document, [])
        independently_valid(FORMS[form_id], document, application.record)
        round_trips(FORMS[form_id], application.record)
        twin = new_message(
            orjson.dumps(JSON_EXAMPLES[form_id]),
            application.form.message_uuid(application.record),
        )
        assert validate_json(twin, today=TODAY).record == application.record
