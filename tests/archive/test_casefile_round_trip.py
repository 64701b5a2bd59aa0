"""The whole way with real filed cases: examples posted like a portal does, filed by the pipeline
workers, worked and closed, then offered, appraised, exported and confirmed through the CLI."""

from __future__ import annotations

import asyncio
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from archive import cli as archive_cli
from archive.messages import read_message_bytes, read_object_list
from archive.package import verify_package
from archive.schema import SchemaCheck
from bootstrap.cli import app
from bootstrap.demo import example_cases
from casefile import audit, repository, service
from casefile.models import Akte, AuditEntry, Dokument, Vorgang
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from intake.models import Application
from tests.archive.support import appraisal_message, import_confirmation, write
from tests.casefile.support import DRESDEN_ID, LEIPZIG_ID, PIPELINE, status_of
from tests.conftest import stored_blobs
from tests.routing.support import import_example, wait_for, workers

AS_OF = "2100-01-01"


async def _filed(client: httpx.AsyncClient, receipts: list[dict[str, object]]) -> bool:
    states = [(await status_of(client, r))["status"] for r in receipts]
    return all(state == "filed" for state in states)


async def file_and_close_examples(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await import_example(runtime.db)
    receipts = []
    for case in example_cases():
        if case.expect_accept:
            response = await client.post(
                "/v1/applications", content=case.body, headers={"content-type": case.content_type}
            )
            assert response.status_code == 202, response.text
            receipts.append(response.json())
    async with workers(runtime, *PIPELINE):
        await wait_for(lambda: _filed(client, receipts), within=30)
    async with runtime.db.transaction() as session:
        ids = list(await session.scalars(select(Vorgang.id, Vorgang.authority_id)))
    async with runtime.db.transaction() as session:
        for vorgang in (await session.scalars(select(Vorgang))).all():
            case = await repository.case(session, vorgang.authority_id, vorgang.id, lock=True)
            assert case is not None
            for step, outcome in (("in_progress", None), ("decided", "granted"), ("closed", None)):
                await service.transition(
                    session, runtime.blobs, case, to=step, actor="clerk:test", outcome=outcome
                )
    assert len(ids) == 5


def cli(settings: Settings, xdomea_dir: Path, *args: str) -> Result:
    env = {
        "EANTRAG_DATABASE_URL": settings.effective_database_url,
        "EANTRAG_BLOB_URL": settings.effective_blob_url,
        "EANTRAG_DATA_DIR": str(settings.data_dir),
        "EANTRAG_XDOMEA_SCHEMA_DIR": str(xdomea_dir),
        "EANTRAG_LOG_LEVEL": "WARNING",
    }
    return CliRunner().invoke(app, ["archive", *args], env=env)


async def run_cli(settings: Settings, xdomea_dir: Path, *args: str) -> Result:
    return await asyncio.to_thread(cli, settings, xdomea_dir, *args)


@pytest.mark.slow
async def test_offer_appraise_export_confirm_leaves_nothing_of_archived_cases(
    monkeypatch: pytest.MonkeyPatch,
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    xdomea_dir: Path,
    schema: SchemaCheck,
    tmp_path: Path,
) -> None:
    # Logging set up inside CliRunner would keep writing to its closed stream afterwards.
    monkeypatch.setattr(archive_cli, "configure_logging", lambda *_: None)
    await file_and_close_examples(client, runtime)
    out = tmp_path / "out"

    due = await run_cli(settings, xdomea_dir, "due", "--authority", DRESDEN_ID, "--as-of", AS_OF)
    assert due.exit_code == 0, due.output
    assert "2 case(s) due" in due.output
    early = await run_cli(
        settings, xdomea_dir, "due", "--authority", DRESDEN_ID, "--as-of", "2027-01-01"
    )
    assert "0 case(s) due" in early.output

    offered = await run_cli(
        settings,
        xdomea_dir,
        "offer",
        "--authority",
        DRESDEN_ID,
        "--as-of",
        AS_OF,
        "--out",
        str(out),
    )
    assert offered.exit_code == 0, offered.output
    [offer_zip] = out.glob("*_Aussonderung.Anbieteverzeichnis.0501.zip")
    offer = read_object_list(read_message_bytes(offer_zip), schema)
    assert offer.head.sender and offer.head.sender != DRESDEN_ID
    take, destroy = offer.akten
    assert take.kennzeichen and take.kennzeichen.startswith("022.31-")
    async with runtime.db.sessionmaker() as session:
        row = await session.get(Akte, take.id)
    assert row is not None and take.disposal is not None
    assert (take.disposal.code, take.disposal.retention_years) == (
        row.disposal,
        row.retention_years,
    )
    assert take.kennzeichen == row.aktenzeichen and take.unit_kennzeichen == row.kennzeichen

    decisions = {take.id: "A", destroy.id: "V"}
    appraisal = write(tmp_path / "0502.xml", appraisal_message(offer.head.process_id, decisions))
    appraised = await run_cli(settings, xdomea_dir, "appraise", str(appraisal), "--out", str(out))
    assert appraised.exit_code == 0, appraised.output
    assert list(out.glob(f"{offer.head.process_id}_*.0505.zip"))

    planned = await run_cli(
        settings,
        xdomea_dir,
        "export",
        "--authority",
        DRESDEN_ID,
        "--as-of",
        AS_OF,
        "--out",
        str(out),
        "--dry-run",
    )
    assert planned.exit_code == 0, planned.output
    assert str(destroy.kennzeichen) in planned.output and "löschen" in planned.output
    assert not list(out.glob("*.0503.zip")), "a dry run writes nothing"
    exported = await run_cli(
        settings,
        xdomea_dir,
        "export",
        "--authority",
        DRESDEN_ID,
        "--as-of",
        AS_OF,
        "--out",
        str(out),
        "--yes",
    )
    assert exported.exit_code == 0, exported.output
    [package] = out.glob("*_Aussonderung.Aussonderung.0503.zip")
    assert package.name.startswith(str(offer.head.process_id))
    assert verify_package(package, schema).ok
    checked = await run_cli(settings, xdomea_dir, "verify", str(package))
    assert checked.exit_code == 0, checked.output
    with zipfile.ZipFile(package) as archive:
        xml = next(n for n in archive.namelist() if n.endswith(".0503.xml"))
        transfer = read_object_list(archive.read(xml), schema)
    [akte] = transfer.akten
    assert akte.id == take.id and akte.kennzeichen == take.kennzeichen
    [vorgang] = akte.vorgaenge
    assert [h.action for h in vorgang.history][:1] == ["filed"]
    assert "archive.appraised" in [h.action for h in vorgang.history]
    kinds = [d.kind for d in vorgang.documents]
    assert {"Antrag (Original)", "Antrag (Lesefassung)", "Bescheid"} <= set(kinds)
    assert kinds[-1] == "Strukturierte Daten"

    blobs_before = {key.rsplit("/", 1)[-1] for key in await stored_blobs(runtime, settings)}
    async with runtime.db.sessionmaker() as session:
        taken_case = await session.scalar(select(Vorgang).where(Vorgang.akte_id == take.id))
        taken_keys = set(
            await session.scalars(
                select(Dokument.blob_key).where(Dokument.vorgang_id == taken_case.id)  # type: ignore[union-attr]
            )
        )
    assert taken_case is not None

    stranger = write(
        tmp_path / "unknown.xml", import_confirmation(uuid.uuid4(), {take.id: "el_sta/1"})
    )
    unknown = await run_cli(settings, xdomea_dir, "confirm", str(stranger))
    assert unknown.exit_code == 1
    assert "unknown Aussonderung process" in unknown.output

    confirmation = write(
        tmp_path / "0506.xml",
        import_confirmation(offer.head.process_id, {take.id: "el_sta/2026/0815"}),
    )
    dry = await run_cli(settings, xdomea_dir, "confirm", str(confirmation), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert str(take.kennzeichen) in dry.output and "löschen" in dry.output
    assert "nothing changed" in dry.output
    asked = await run_cli(settings, xdomea_dir, "confirm", str(confirmation))
    assert asked.exit_code == 1 and "--yes" in asked.output  # no answer: nothing deleted
    async with runtime.db.sessionmaker() as session:
        still = await session.scalar(select(Vorgang).where(Vorgang.akte_id == take.id))
        assert still is not None and still.status == "closed"
    confirmed = await run_cli(settings, xdomea_dir, "confirm", str(confirmation), "--yes")
    assert confirmed.exit_code == 0, confirmed.output
    assert "el_sta/2026/0815" in confirmed.output

    async with runtime.db.sessionmaker() as session:
        cases = {
            c.akte_id: c
            for c in (
                await session.scalars(select(Vorgang).where(Vorgang.authority_id == DRESDEN_ID))
            ).all()
        }
        for akte_id, status in ((take.id, "archived"), (destroy.id, "destroyed")):
            case = cases[akte_id]
            assert case.status == status
            assert case.record == {} and case.routing == {}
            assert case.applicant_name is case.applicant_key is case.search_key is None
            documents = await session.scalars(
                select(Dokument).where(Dokument.vorgang_id == case.id)
            )
            assert documents.all() == []
            assert await session.get(Application, case.application_id) is None
            trail = (await repository.audit_entries(session, case.id))[-1]
            assert trail.action == f"archive.{status}"
            assert trail.new_value["archiveId"] == (
                "el_sta/2026/0815" if status == "archived" else None
            )
            akte_row = await session.get(Akte, akte_id)
            assert akte_row is not None and "Muster" not in akte_row.title
        verification = await audit.verify(session, DRESDEN_ID)
        assert verification.ok, verification.breaks
        remaining = set((await session.scalars(select(Dokument.blob_key))).all())
        remaining |= set((await session.scalars(select(Application.blob_key))).all())
        entries = (await session.scalars(select(AuditEntry))).all()
        assert any(e.action == "archive.archived" for e in entries)
    blobs_after = {key.rsplit("/", 1)[-1] for key in await stored_blobs(runtime, settings)}
    gone = blobs_before - blobs_after
    assert {key.rsplit("/", 1)[-1] for key in taken_keys} - {
        key.rsplit("/", 1)[-1] for key in remaining
    } <= gone
    assert all(key.rsplit("/", 1)[-1] in blobs_after for key in remaining), "a used blob vanished"

    # Leipzig's Wohngeld cases go out in the two-step variant, as xdomea 3.1.0.
    leipzig = await run_cli(
        settings,
        xdomea_dir,
        "export",
        "--authority",
        LEIPZIG_ID,
        "--as-of",
        AS_OF,
        "--out",
        str(tmp_path / "leipzig"),
        "--xdomea-version",
        "3.1.0",
    )
    assert leipzig.exit_code == 0, leipzig.output
    [two_step] = (tmp_path / "leipzig").glob("*.0503.zip")
    report = verify_package(two_step, schema)
    assert report.ok and report.version == "3.1.0", report.problems
