"""Done when: with only EANTRAG_XDOMEA_SCHEMA_DIR set, a freshly filed, decided and closed
Wohngeld case exports in both xdomea versions, passes `eantrag archive verify`, and the ZIP holds
the PDF/A rendering and the Bescheid."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from archive import cli as archive_cli
from archive.messages import FormatRef, read_object_list
from archive.schema import SchemaCheck
from casefile import bescheid, repository, service
from casefile.models import Dokument, Vorgang
from casefile.renderings import DOCUMENT_KEY
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.archive.test_casefile_round_trip import cli
from tests.casefile.forms import wohngeld_six
from tests.casefile.pdfa_check import assert_pdfa
from tests.casefile.support import PIPELINE, status_of
from tests.routing.support import import_example, wait_for, workers


async def _rendered(runtime: Runtime) -> bool:
    async with runtime.db.sessionmaker() as session:
        found = await session.scalar(
            select(Dokument.id).where(Dokument.document_key == DOCUMENT_KEY)
        )
    return found is not None


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.0.0", "3.1.0"])
async def test_a_decided_wohngeld_case_exports_with_its_pdfa_documents(
    monkeypatch: pytest.MonkeyPatch,
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    xdomea_dir: Path,
    schema: SchemaCheck,
    tmp_path: Path,
    version: str,
) -> None:
    monkeypatch.setattr(archive_cli, "configure_logging", lambda *_: None)
    await import_example(runtime.db)
    record = wohngeld_six()
    record.pop("anlage")
    response = await client.post(
        "/v1/applications",
        content=orjson.dumps(record),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 202, response.text
    receipt = response.json()
    async with workers(runtime, *PIPELINE, "renderer"):
        await wait_for(lambda: _filed(client, receipt), within=30)
        await wait_for(lambda: _rendered(runtime), within=60)

    async with runtime.db.transaction() as session:
        vorgang = await session.scalar(select(Vorgang))
        assert vorgang is not None
        case = await repository.case(session, vorgang.authority_id, vorgang.id, lock=True)
        assert case is not None
        for step, outcome in (("in_progress", None), ("decided", "granted"), ("closed", None)):
            await service.transition(
                session,
                runtime.blobs,
                case,
                to=step,
                actor="clerk:Erika Muster",
                outcome=outcome,
                reason="Bewilligt für zwölf Monate." if outcome else None,
                decided_by="Erika Muster",
            )
        reference = case.akte.aktenzeichen
        original_sha256 = await session.scalar(
            select(Dokument.sha256).where(
                Dokument.vorgang_id == case.id, Dokument.kind == "original"
            )
        )
        assert original_sha256 is not None
    async with runtime.db.sessionmaker() as session:
        decision = await bescheid.current_decision(session, case.application_id)
        assert decision is not None and decision.conformance == "PDF/A-2b"

    out = tmp_path / "out"
    exported = await asyncio.to_thread(
        cli,
        settings,
        xdomea_dir,
        "export",
        "--authority",
        case.authority_id,
        "--as-of",
        "2100-01-01",
        "--out",
        str(out),
        "--xdomea-version",
        version,
    )
    assert exported.exit_code == 0, exported.output
    [package] = out.glob("*_Aussonderung.Aussonderung.0503.zip")
    checked = await asyncio.to_thread(cli, settings, xdomea_dir, "verify", str(package))
    assert checked.exit_code == 0, checked.output
    assert f"xdomea {version}" in checked.output

    with zipfile.ZipFile(package) as archive:
        xml = next(n for n in archive.namelist() if n.endswith(".0503.xml"))
        message = archive.read(xml)
        transfer = read_object_list(message, schema)
        files = {name: archive.read(name) for name in archive.namelist()}
    assert b'listVersionID="1.0"' in message
    [akte] = transfer.akten
    [vorgang_ref] = akte.vorgaenge
    formats_of: dict[str, list[FormatRef]] = {}
    for document in vorgang_ref.documents:
        formats_of.setdefault(document.kind, []).extend(
            f for v in document.versions for f in v.formats
        )
    pdfs = {}
    for kind in ("Antrag (Lesefassung)", "Bescheid"):
        formats = formats_of[kind]
        pdfa = [f for f in formats if f.code == "044"]
        assert pdfa, f"{kind}: no PDF/A (044) among {[f.code for f in formats]}"
        pdfs[kind] = assert_pdfa(files[pdfa[0].filename])
    [original] = formats_of["Antrag (Original)"]
    assert original.code == "100"  # JSON: the list has no code of its own for it
    rendering_text = " ".join(pdfs["Antrag (Lesefassung)"].split())
    assert reference in rendering_text and "Haushaltsmitglied 6" in rendering_text
    assert original_sha256 in rendering_text.replace(" ", "")
    bescheid_text = " ".join(pdfs["Bescheid"].split())
    assert reference in bescheid_text and "Erika Muster" in bescheid_text
    # the letterhead from the directory (examples/directory-sachsen.xml)
    assert "Stadt Leipzig" in bescheid_text and "Martin-Luther-Ring 4-6" in bescheid_text
    assert "04109 Leipzig" in bescheid_text
    assert "Bewilligt für zwölf Monate." in bescheid_text


async def _filed(client: httpx.AsyncClient, receipt: dict[str, object]) -> bool:
    return (await status_of(client, receipt))["status"] == "filed"
