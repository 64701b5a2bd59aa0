"""The 0503 transfer package: names, layout, schema, references and hashes, in both versions."""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from archive.codelists import FormatCodes
from archive.errors import ArchiveError, IntegrityError, SchemaUnavailable
from archive.messages import read_object_list
from archive.package import MANIFEST, verify_package
from archive.schema import SchemaCheck
from tests.archive.conftest import ArchiveEnv
from tests.archive.support import BUILDING, DESTROY, WOHNGELD, example_case

AS_OF = date(2026, 11, 23)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def check_package(path: Path, schema: SchemaCheck) -> tuple[str, dict[str, bytes]]:
    """The packaging rules, checked independently of archive.package."""
    match = re.fullmatch(rf"({UUID})_Aussonderung\.Aussonderung\.0503\.zip", path.name)
    assert match, path.name
    process_id = match.group(1)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert all("/" not in name for name in files)
    xml_name = f"{process_id}_Aussonderung.Aussonderung.0503.xml"
    root = etree.fromstring(files[xml_name])
    assert root.prefix == "xdomea"
    ns = etree.QName(root).namespace
    assert root.findtext(f"{{{ns}}}Kopf/{{{ns}}}ProzessID") == process_id
    schema.validate(root, ns.rsplit(":", 1)[-1], xml_name)
    referenced = [n.text for n in root.iter(f"{{{ns}}}Dateiname")]
    assert referenced and len(set(referenced)) == len(referenced)
    for name in referenced:
        assert re.fullmatch(rf"{UUID}(_[^/]*)?\.[a-z0-9]+", name), name
        assert name in files, f"{name} referenced but missing"
    assert set(files) == {*referenced, xml_name, MANIFEST}, "unreferenced files in the package"
    manifest = dict(reversed(line.split("  ", 1)) for line in files[MANIFEST].decode().splitlines())
    assert set(manifest) == set(files) - {MANIFEST}
    for name, digest in manifest.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest, name
    return process_id, files


@pytest.mark.parametrize("version", ["3.0.0", "3.1.0"])
async def test_two_step_export_passes_the_xsd_and_the_packaging_rules(
    env: ArchiveEnv, version: str
) -> None:
    due = [env.source.add(await example_case(env.blobs, number=n)) for n in (1, 2)]
    env.source.add(await example_case(env.blobs, number=3, unit=BUILDING))  # unlimited
    env.source.add(await example_case(env.blobs, number=4, closed="2020-01-10T08:00:00"))

    result = await env.run(lambda s: s.export(due[0].authority_id, AS_OF, env.out, version=version))

    assert [p.variant for p in result.processes] == ["two-step"]
    exported = result.processes[0]
    assert exported.path is not None
    assert sorted(exported.cases) == sorted(a.aktenzeichen for a in due)
    process_id, files = check_package(exported.path, env.schema)
    assert str(exported.process_id) == process_id
    assert verify_package(exported.path, env.schema).ok

    message = read_object_list(files[f"{process_id}_Aussonderung.Aussonderung.0503.xml"])
    assert message.version == version
    assert message.head.flags == {
        "Importbestaetigung": True,
        "RueckmeldungArchivkennung": True,
        "Empfangsbestaetigung": True,
    }
    assert message.head.sender == "Gemeinde Niederwürschnitz"
    assert message.head.receiver == "Sächsisches Staatsarchiv"
    by_id = {akte.id: akte for akte in message.akten}
    for akte in due:
        got = by_id[akte.id]
        assert got.kennzeichen == akte.aktenzeichen
        assert got.unit_kennzeichen == "022.31"
        assert got.disposal is not None
        assert (got.disposal.code, got.disposal.retention_years) == ("B", 6)
        assert got.disposal.retention_end == "2024-12-31"
        assert [h.action for h in got.history] == ["filed"]
        [vorgang] = got.vorgaenge
        source = akte.vorgaenge[0]
        assert vorgang.id == source.id
        assert [h.field for h in vorgang.history] == [None, "status", "status"]
        assert vorgang.history[1].old_value == "filed"
        kinds = [d.kind for d in vorgang.documents]
        assert kinds == ["Antrag", "Anlage", "Strukturierte Daten"]
        for document, original in zip(vorgang.documents, source.documents, strict=False):
            [version_ref] = document.versions
            [fmt] = version_ref.formats
            stored = original.versions[0]
            assert fmt.filename.startswith(str(stored.id))
            assert fmt.original_name == stored.filename
            assert hashlib.sha256(files[fmt.filename]).hexdigest() == stored.sha256
        assert vorgang.documents[1].versions[0].formats[0].code == "018"  # PDF
        data = vorgang.documents[2].versions[0].formats[0].filename
        tree = etree.fromstring(files[data])
        assert tree.get("vorgang") == str(source.id)
        assert tree.xpath("string(//*[@name='rasse'])") == "Dackel"
        assert tree.xpath("string(//*[@name='gefaehrlich']/@typ)") == "boolean"


async def test_cases_coded_v_are_never_sent_unasked(env: ArchiveEnv) -> None:
    keep = env.source.add(
        await example_case(env.blobs, number=1, unit=WOHNGELD, closed="2012-01-01T00:00:00")
    )
    env.source.add(await example_case(env.blobs, number=2, unit=DESTROY))
    result = await env.run(lambda s: s.export(keep.authority_id, AS_OF, env.out))
    assert result.processes[0].cases == [keep.aktenzeichen]
    assert result.not_transferred_v == ["010.5/2017/00002"]


async def test_export_refuses_without_a_schema() -> None:
    with pytest.raises(SchemaUnavailable, match="EANTRAG_XDOMEA_SCHEMA_DIR"):
        SchemaCheck(None)
    assert not SchemaCheck(None, skip=True).enabled


async def test_a_blob_that_changed_stops_the_export(env: ArchiveEnv) -> None:
    akte = env.source.add(await example_case(env.blobs, number=1))
    pdf = akte.vorgaenge[0].documents[1].versions[0]
    (env.blobs.root / pdf.blob_key).write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="SHA-256"):
        await env.run(lambda s: s.export(akte.authority_id, AS_OF, env.out))
    assert not list(env.out.glob("*")), "no package, not even a partial one"
    async with env.service() as service:
        assert [c.id for c in await service.due(akte.authority_id, AS_OF)] == [akte.id]


async def test_a_format_the_list_lacks_is_sonstiges_and_a_wrong_code_is_refused() -> None:
    codes = FormatCodes()
    assert codes.list_version == "1.0"
    assert [codes.code(n) for n in ("a.xml", "a.pdf", "a.html", "a.txt", "a.json", "a.p7s")] == [
        "030",
        "018",
        "008",
        "045",
        "100",
        "100",
    ]
    assert codes.code("bescheid-1.pdf", "PDF/A-2b") == "044"
    assert FormatCodes({"p7s": "021"}).code("sig.p7s") == "021"
    with pytest.raises(ArchiveError, match=r"Dateiformat 1\.0 \(urn:xoev-de:xdomea:codeliste"):
        FormatCodes({"xml": "test-xml"})
