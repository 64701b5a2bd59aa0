"""Large applications: attachments carried inline, validated and extracted in bounded memory.

The validator drops each child of the root from the tree as soon as it has been read. libxml2
validates on the parser's events, not on the tree, so dropping must not weaken validation: every
invalid large document below is still refused.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from lxml import etree
from sqlalchemy import select

from contracts.forms import FORMS, wohngeld
from eantrag.blobs import blob_key, read_all
from eantrag.models import OutboxMessage
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from intake.errors import Invalid, Malformed
from intake.inline import InlineAttachments
from intake.validation import validate_json
from intake.xmlstream import XmlStreamValidator, finish_xml, validate_xml_chunks
from intake.xsd import schema_for
from tests.conftest import EXAMPLES, ROOT
from tests.intake.test_submit import nothing_stored

WOHNGELD = FORMS["wohngeld-mietzuschuss"]
W = "{urn:eantrag:xoev:wohngeld:1.0}"
XML = {"content-type": "application/xml"}
JSON = {"content-type": "application/json"}
MiB = 1024 * 1024


def content(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def with_inline(contents: list[bytes]) -> dict[str, Any]:
    """The Wohngeld example with one inline attachment per content."""
    record = orjson.loads((EXAMPLES / "wohngeld.json").read_bytes())
    record["anlage"] = [
        {
            "art": {"code": "sonstiges"},
            "dateiname": f"Nachweis_{index}.pdf",
            "inhalt": base64.b64encode(data).decode(),
        }
        for index, data in enumerate(contents)
    ]
    return dict(record)


def xml_of(record: dict[str, Any]) -> bytes:
    return WOHNGELD.record_to_xml(record)


def feed(document: bytes, inline: InlineAttachments | None = None, step: int = 64 * 1024) -> Any:
    """What receiving does: chunks to the validator, the spooled bytes at hand to explain."""
    validator = XmlStreamValidator(inline=inline, replay=lambda: io.BytesIO(document))
    for offset in range(0, len(document), step):
        validator.feed(document[offset : offset + step])
    return finish_xml(validator)


# --------------------------------------------------------------------------- the form


def test_inline_content_maps_between_xml_and_json() -> None:
    record = with_inline([content(1000)])
    document = xml_of(record)
    schema_for(WOHNGELD.id).assertValid(etree.fromstring(document))
    assert WOHNGELD.record_from_xml(etree.fromstring(document)) == record


def test_base64_with_line_breaks_reads_as_the_json_value() -> None:
    record = with_inline([content(1000)])
    root = etree.fromstring(xml_of(record))
    inhalt = root.find(f"{W}anlage/{W}inhalt")
    text = inhalt.text
    inhalt.text = "\n" + "\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + "\n"
    schema_for(WOHNGELD.id).assertValid(root)
    assert WOHNGELD.record_from_xml(root) == record


def test_inline_content_is_capped_alike_in_xml_and_json() -> None:
    cap = 6 * MiB
    record = with_inline([content(cap + 3)])
    with pytest.raises(Invalid):
        validate_json(orjson.dumps(record))
    document = xml_of({**record, "anlage": []}).replace(
        b"</wohngeld:wohngeld.mietzuschussAntrag.0101>",
        b"<wohngeld:anlage><wohngeld:art><code>sonstiges</code></wohngeld:art>"
        b"<wohngeld:dateiname>a.pdf</wohngeld:dateiname><wohngeld:inhalt>"
        + record["anlage"][0]["inhalt"].encode()
        + b"</wohngeld:inhalt></wohngeld:anlage></wohngeld:wohngeld.mietzuschussAntrag.0101>",
    )
    with pytest.raises(Invalid):
        feed(document)
    assert validate_json(orjson.dumps(with_inline([content(cap)]))).record


# --------------------------------------------------------------------------- the validator


def test_inline_content_is_spooled_and_the_record_keeps_a_reference() -> None:
    first, second = content(3 * MiB, seed=1), content(1000, seed=2)
    document = xml_of(with_inline([first, second, first]))
    inline = InlineAttachments()
    try:
        application = feed(document, inline)
        anlagen = application.record["anlage"]
        assert [a["inhalt"]["sha256"] for a in anlagen] == [
            hashlib.sha256(first).hexdigest(),
            hashlib.sha256(second).hexdigest(),
            hashlib.sha256(first).hexdigest(),
        ]
        assert anlagen[0]["inhalt"] == {
            "blobKey": blob_key(hashlib.sha256(first).hexdigest()),
            "sha256": hashlib.sha256(first).hexdigest(),
            "size": len(first),
        }
        assert len(inline.spools) == 2, "the same content twice is spooled once"
        spool = inline.spools[hashlib.sha256(first).hexdigest()]
        assert spool.read_all() == first
        assert spool.sha512 == hashlib.sha512(first).hexdigest()
        assert len(orjson.dumps(application.record)) < 20_000, "the record stays small"
    finally:
        inline.close()


def test_json_inline_content_is_spooled_the_same_way() -> None:
    data = content(2000)
    inline = InlineAttachments()
    try:
        application = validate_json(orjson.dumps(with_inline([data])), inline=inline)
        reference = application.record["anlage"][0]["inhalt"]
        assert reference["sha256"] == hashlib.sha256(data).hexdigest()
        assert inline.spools[reference["sha256"]].read_all() == data
    finally:
        inline.close()


def _spoil(document: bytes, old: bytes, new: bytes) -> bytes:
    assert old in document
    return document.replace(old, new, 1)


@pytest.mark.parametrize(
    "spoil",
    [
        # in the first attachment, long dropped from the tree when the document ends
        pytest.param(
            lambda d: _spoil(d, b"<code>sonstiges</code>", b"<code>erfunden</code>"),
            id="code-in-a-dropped-anlage",
        ),
        pytest.param(
            lambda d: _spoil(d, b"<wohngeld:inhalt>", b"<wohngeld:inhalt>#"),
            id="base64-of-a-dropped-anlage",
        ),
        pytest.param(
            lambda d: _spoil(d, b"</wohngeld:inhalt>", b"A</wohngeld:inhalt>"), id="base64-padding"
        ),
        # before the attachments: in a child of the root dropped long before the end
        pytest.param(
            lambda d: _spoil(d, b"<basis:postleitzahl>0", b"<basis:postleitzahl>x"),
            id="postcode-in-a-dropped-child",
        ),
        # at the very end, after every attachment was dropped
        pytest.param(
            lambda d: _spoil(
                d,
                b"</wohngeld:wohngeld.mietzuschussAntrag.0101>",
                b"<wohngeld:unbekannt/></wohngeld:wohngeld.mietzuschussAntrag.0101>",
            ),
            id="unknown-element-at-the-end",
        ),
    ],
)
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_an_invalid_document_is_refused_although_its_children_were_dropped(
    spoil: Any, large: bool
) -> None:
    size = 3 * MiB if large else 300
    document = spoil(xml_of(with_inline([content(size, seed=i) for i in range(4)])))
    assert len(document) > (12 * MiB if large else 1000)
    inline = InlineAttachments()
    try:
        with pytest.raises(Invalid) as refused:
            feed(document, inline)
        assert refused.value.violations
    finally:
        inline.close()


def test_more_attachments_than_the_schema_allows_are_refused_and_not_mapped() -> None:
    record = with_inline([content(100, seed=i) for i in range(51)])
    document = _xml_unchecked(record)
    with pytest.raises(Invalid):
        feed(document, step=4096)


def _xml_unchecked(record: dict[str, Any]) -> bytes:
    from contracts.forms.xmlmodel import record_to_xml

    return record_to_xml(record, WOHNGELD.model)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [2 * MiB, 10 * MiB], ids=["tree-explained", "streamed"])
def test_a_malformed_large_document_is_malformed_with_its_line(size: int) -> None:
    # An invalid document first: its errors must not leak into the next verdict.
    with pytest.raises(Invalid):
        feed(_spoil(xml_of(with_inline([b"x"])), b"<code>sonstiges", b"<code>erfunden"))
    document = xml_of(with_inline([content(size // 2, seed=i) for i in range(2)]))
    broken = _spoil(document, b"</wohngeld:dateiname>", b"</wohngeld:dateinamex>")
    with pytest.raises(Malformed) as refused:
        feed(broken, InlineAttachments())
    violation = refused.value.violations[0]
    assert "dateiname" in violation.reason
    assert violation.line == broken[: broken.index(b"dateinamex")].count(b"\n") + 1


def test_a_large_invalid_document_names_its_own_violation() -> None:
    with pytest.raises(Invalid):
        feed(
            _spoil(xml_of(with_inline([b"x"])), b"<basis:postleitzahl>0", b"<basis:postleitzahl>x")
        )
    document = xml_of(with_inline([content(3 * MiB, seed=i) for i in range(4)]))
    broken = _spoil(document, b"<code>sonstiges</code>", b"<code>erfunden</code>")
    with pytest.raises(Invalid) as refused:
        feed(broken, InlineAttachments())
    reasons = [v.reason for v in refused.value.violations]
    assert any("erfunden" in reason for reason in reasons), reasons
    assert not any("postleitzahl" in reason for reason in reasons), reasons


def test_tiny_chunks_give_the_same_record() -> None:
    document = xml_of(with_inline([content(5000)]))
    whole = validate_xml_chunks([document]).record
    assert feed(document, step=7).record == whole


# VmHWM, not ru_maxrss: the latter carries the peak of the forking parent across exec.
MEMORY_PROBE = """
import sys
from intake.inline import InlineAttachments
from intake.xmlstream import XmlStreamValidator, finish_xml
from intake.xsd import schema_for
schema_for("wohngeld-mietzuschuss")
def status(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field))
base = status("VmRSS:")
inline = InlineAttachments()
validator = XmlStreamValidator(inline=inline)
with open(sys.argv[1], "rb") as f:
    while chunk := f.read(1 << 20):
        validator.feed(chunk)
finish_xml(validator)
print((status("VmHWM:") - base) // 1024)
"""


@pytest.mark.slow
def test_a_large_document_is_validated_in_bounded_memory(tmp_path: Path) -> None:
    """~100 MB of attachments: the peak grows by far less than the document."""
    contents = [content(4 * MiB, seed=i) for i in range(18)]
    path = tmp_path / "large.xml"
    path.write_bytes(_xml_unchecked(with_inline(contents)))
    assert path.stat().st_size > 95 * MiB
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    growth_mib = int(result.stdout.strip())
    assert growth_mib <= 64, f"peak RSS grew by {growth_mib} MiB"


# --------------------------------------------------------------------------- over HTTP


async def test_inline_attachments_are_stored_as_blobs_of_their_own(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from intake.models import Application, Attachment

    pdf = (EXAMPLES / "attachments" / "Mietvertrag_Nikolaistrasse_27.pdf").read_bytes()
    large = content(2 * MiB)  # over the offload threshold: read in a thread
    record = with_inline([pdf, large])
    record["anlage"][0]["anlageId"] = "dea8d99e-0233-41d7-99ed-adc7bc587db0"
    body = xml_of(record)
    response = await client.post("/v1/applications", content=body, headers=XML)
    assert response.status_code == 202, response.text

    async with runtime.db.sessionmaker() as session:
        app = await session.scalar(select(Application))
        attachments = (
            await session.scalars(select(Attachment).order_by(Attachment.attachment_id))
        ).all()
        outbox = await session.scalar(select(OutboxMessage))
    assert app is not None and outbox is not None
    assert await read_all(runtime.blobs, app.blob_key) == body, "the original stays unchanged"
    stored = {a.attachment_id: a for a in attachments}
    assert set(stored) == {"dea8d99e-0233-41d7-99ed-adc7bc587db0", "anlage-2"}
    first = stored["dea8d99e-0233-41d7-99ed-adc7bc587db0"]
    assert (first.filename, first.media_type) == ("Nachweis_0.pdf", "application/pdf")
    assert await read_all(runtime.blobs, first.blob_key) == pdf
    assert first.sha512 == hashlib.sha512(pdf).hexdigest()
    assert await read_all(runtime.blobs, stored["anlage-2"].blob_key) == large
    assert app.record["anlage"][1]["inhalt"] == {
        "blobKey": stored["anlage-2"].blob_key,
        "sha256": hashlib.sha256(large).hexdigest(),
        "size": len(large),
    }
    assert len(json.dumps(app.record)) < 20_000
    event = orjson.loads(outbox.body)
    assert {a["attachmentId"] for a in event["attachments"]} == set(stored)


async def test_inline_attachment_in_json_is_stored_the_same_way(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from intake.models import Attachment

    data = content(3000)
    response = await client.post(
        "/v1/applications", content=orjson.dumps(with_inline([data])), headers=JSON
    )
    assert response.status_code == 202, response.text
    async with runtime.db.sessionmaker() as session:
        attachment = await session.scalar(select(Attachment))
    assert attachment is not None
    assert await read_all(runtime.blobs, attachment.blob_key) == data


@pytest.mark.parametrize("size", [300, 2 * MiB], ids=["small", "large"])
async def test_a_refused_large_document_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, size: int
) -> None:
    document = xml_of(with_inline([content(size, seed=i) for i in range(3)]))
    broken = _spoil(document, b"<code>sonstiges</code>", b"<code>erfunden</code>")
    response = await client.post("/v1/applications", content=broken, headers=XML)
    assert response.status_code == 422, response.text
    assert await nothing_stored(runtime, settings)


async def test_a_fit_connect_submission_needs_no_part_for_an_inline_attachment(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from intake import fitconnect
    from intake.models import Attachment

    data = content(1500)
    record = with_inline([data])
    record["anlage"][0]["anlageId"] = "7d7c2f9e-53a4-4a8e-9a6f-0d1e2f3a4b5c"
    document = xml_of(record)
    body, content_type = fitconnect.submission(WOHNGELD, document, "application/xml")
    response = await client.post(
        "/v1/applications", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 202, response.text
    async with runtime.db.sessionmaker() as session:
        attachment = await session.scalar(select(Attachment))
    assert attachment is not None
    assert attachment.attachment_id == "7d7c2f9e-53a4-4a8e-9a6f-0d1e2f3a4b5c"
    assert await read_all(runtime.blobs, attachment.blob_key) == data


# ------------------------------------------------- what libxml2 leaves to intake's Base64 decoder


def _with_inhalt(text: bytes) -> bytes:
    document = xml_of(with_inline([content(30)]))
    start = document.index(b"<wohngeld:inhalt>") + len(b"<wohngeld:inhalt>")
    end = document.index(b"</wohngeld:inhalt>")
    return document[:start] + text + document[end:]


@pytest.mark.parametrize("hook", ["spooled", "checked only"])
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"   \n  ", "at least 1"),  # minLength 1, whitespace is no content
        (b"QUJD#RA==", "not valid Base64"),  # libxml2 itself would skip the '#'
        (b"QUJDRA=", "not valid Base64"),
        (b"QUJD RA==\n", None),  # whitespace between the characters is allowed
    ],
)
def test_the_decoder_checks_what_the_relaxed_schema_does_not(
    hook: str, text: bytes, reason: str | None
) -> None:
    """The validation schema checks xs:base64Binary as a string (`validation_xsd`): the
    alphabet, the padding and the length facets are the decoder's, with or without a spool."""
    inline = InlineAttachments() if hook == "spooled" else None
    document = _with_inhalt(text)
    try:
        if reason is None:
            record = feed(document, inline).record
            kept = record["anlage"][0]["inhalt"]
            assert kept == "QUJDRA==" if inline is None else kept["size"] == 4
            return
        with pytest.raises(Invalid) as refused:
            feed(document, inline)
        assert reason in " ".join(v.reason for v in refused.value.violations)
    finally:
        if inline is not None:
            inline.close()


@pytest.mark.parametrize("hook", ["spooled", "checked only"])
def test_inline_content_is_capped_at_the_schemas_max_length_in_bytes(hook: str) -> None:
    cap = wohngeld.INHALT_MAX_BYTES
    for size, accepted in ((cap, True), (cap + 1, False)):
        record = with_inline([content(size)])
        document = _xml_unchecked(record)
        inline = InlineAttachments() if hook == "spooled" else None
        try:
            if accepted:
                feed(document, inline)
            else:
                with pytest.raises(Invalid) as refused:
                    feed(document, inline)
                assert f"at most {cap}" in refused.value.violations[0].reason
        finally:
            if inline is not None:
                inline.close()
