"""Export throughput of the xdomea Aussonderung: closed cases → one 0503 transfer package.

    python -m bench archive [--cases 1000] [--attachment-kb 100] [--repeat 3] [--schema-dir DIR]

Contenders, each on the same cases and blobs (a file blob store and an SQLite database in a
temporary directory, the cases served by the in-memory case source):
- `eantrag` — `ArchiveService.export`: 0503 XML for every case, validated against the official
  xdomea 3.0.0 XSD, the ZIP with every primary file re-hashed while copied, the BagIt-style
  manifest, and the process rows;
- `eantrag-no-xsd` — the same without schema validation (what the XSD check costs);
- `plain-zip` — the baseline: the same primary files read from the same blob store into a plain
  ZIP, nothing else (no XML, no hashing, no database).

The XML generation and validation are also timed on their own. Reports cases/s and MB/s (primary
file bytes in) and each contender's time relative to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from archive import xdomea
from archive.codelists import FormatCodes
from archive.memory import InMemoryCaseSource
from archive.package import _compression
from archive.schema import SchemaCheck
from archive.service import ArchiveService
from archive.sources import (
    ArchivableAkte,
    ArchivableDokument,
    ArchivableVersion,
    ArchivableVorgang,
    AuditEntry,
    FilePlanUnit,
    Retention,
)
from eantrag import schema as db_schema
from eantrag.blobs import FileBlobStore
from eantrag.db import Database

RESULTS = Path(__file__).resolve().parent / "results"
AUTHORITY = "bench-authority"
UNIT = FilePlanUnit("022.31", "Hundesteuer", Retention(6), "B")
AS_OF = date(2030, 1, 1)
FORMATS = {"xml": "bench-xml"}


def default_schema_dir() -> Path | None:
    configured = os.environ.get("EANTRAG_XDOMEA_SCHEMA_DIR")
    if configured:
        return Path(configured)
    shared = Path(__file__).resolve().parents[2] / "shared" / "xdomea"
    return shared if shared.is_dir() else None


async def put(blobs: FileBlobStore, data: bytes, media_type: str) -> tuple[str, str]:
    import hashlib
    import io

    digest = hashlib.sha256(data).hexdigest()
    return await blobs.put(io.BytesIO(data), digest, len(data), media_type), digest


async def make_cases(blobs: FileBlobStore, count: int, attachment_kb: int) -> list[ArchivableAkte]:
    """Cases like the filed ones: XML original, an attachment, structured data, an audit trail."""
    cases = []
    closed = datetime(2022, 6, 30, 10, tzinfo=UTC)
    for n in range(count):
        original = (
            f'<?xml version="1.0"?><hundesteuer.anmeldung.0101 nr="{n}">'
            + "<halter><name>Erika Muster</name><anschrift>Hauptstraße 1</anschrift></halter>" * 8
            + "</hundesteuer.anmeldung.0101>"
        ).encode()
        attachment = os.urandom(attachment_kb * 1024)
        docs = []
        for title, kind, data, name, media in (
            ("Antrag (Original)", "Antrag", original, "antrag.xml", "application/xml"),
            ("Nachweis", "Anlage", attachment, "nachweis.pdf", "application/pdf"),
        ):
            key, digest = await put(blobs, data, media)
            docs.append(
                ArchivableDokument(
                    id=uuid.uuid4(),
                    title=title,
                    kind=kind,
                    received_at=closed - timedelta(days=30),
                    versions=(
                        ArchivableVersion(
                            uuid.uuid4(), 1, name, media, key, digest, len(data), closed
                        ),
                    ),
                )
            )
        trail = tuple(
            AuditEntry("clerk:bench", closed - timedelta(days=30 - i), action, "status", a, b)
            for i, (action, a, b) in enumerate(
                [
                    ("filed", None, "filed"),
                    ("transition", "filed", "in_progress"),
                    ("transition", "in_progress", "decided"),
                    ("transition", "decided", "closed"),
                ]
            )
        )
        vorgang = ArchivableVorgang(
            id=uuid.uuid4(),
            title=f"Anmeldung eines Hundes {n}",
            reference=f"022.31-2022-{n + 1}",
            opened_at=closed - timedelta(days=30),
            closed_at=closed,
            documents=tuple(docs),
            audit=trail,
            structured_data={
                "halter": {"familienname": "Muster", "vorname": "Erika", "nr": n},
                "hunde": [{"rasse": "Dackel", "geboren": "2019-04-01", "gefaehrlich": False}],
            },
        )
        cases.append(
            ArchivableAkte(
                id=uuid.uuid4(),
                authority_id=AUTHORITY,
                authority_name="Bench-Gemeinde",
                aktenzeichen=f"022.31-2022-{n + 1}",
                title=f"Hundesteuer Muster {n}",
                unit=UNIT,
                opened_at=vorgang.opened_at,
                closed_at=closed,
                vorgaenge=(vorgang,),
            )
        )
    return cases


async def run_export(
    work: Path, blobs: FileBlobStore, cases: list[ArchivableAkte], schema: SchemaCheck
) -> tuple[float, int]:
    """One export into a fresh database (migrated outside the timing)."""
    url = f"sqlite+aiosqlite:///{work / f'bench-{uuid.uuid4().hex}.db'}"
    await db_schema.upgrade_async(url)
    db = Database(url)
    source = InMemoryCaseSource()
    for akte in cases:
        source.add(akte)
    out = work / f"out-{uuid.uuid4().hex}"
    try:
        start = time.perf_counter()
        async with db.transaction() as session:
            service = ArchiveService(session, source, blobs, schema, FormatCodes(), "Staatsarchiv")
            result = await service.export(AUTHORITY, AS_OF, out)
        elapsed = time.perf_counter() - start
    finally:
        await db.dispose()
    [process] = result.processes
    assert process.path is not None and len(process.cases) == len(cases)
    size = process.path.stat().st_size
    process.path.unlink()
    return elapsed, size


async def run_plain_zip(
    work: Path, blobs: FileBlobStore, cases: list[ArchivableAkte]
) -> tuple[float, int]:
    path = work / f"plain-{uuid.uuid4().hex}.zip"
    start = time.perf_counter()
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for akte in cases:
            for version in akte.versions():
                name = xdomea.primary_filename(version)
                info = zipfile.ZipInfo(name)
                info.compress_type = _compression(name)
                with archive.open(info, "w") as target:
                    async for chunk in blobs.read(version.blob_key):
                        target.write(chunk)
    elapsed = time.perf_counter() - start
    size = path.stat().st_size
    path.unlink()
    return elapsed, size


def time_xml(cases: list[ArchivableAkte], schema: SchemaCheck) -> dict[str, float]:
    """The XML alone: building the 0503 tree, serialising it, validating it."""
    head = xdomea.Head(
        uuid.uuid4(), "0503", datetime.now(UTC), xdomea.Party("a"), xdomea.Party("b")
    )
    formats = FormatCodes()
    start = time.perf_counter()
    root = xdomea.transfer("3.0.0", head, cases, formats)
    built = time.perf_counter()
    data = xdomea.serialize(root)
    serialised = time.perf_counter()
    schema.validate(root, "3.0.0", "bench")
    validated = time.perf_counter()
    return {
        "build_s": built - start,
        "serialise_s": serialised - built,
        "validate_s": validated - serialised,
        "xml_bytes": len(data),
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    schema_dir = args.schema_dir or default_schema_dir()
    if schema_dir is None:
        raise SystemExit("no xdomea schemas: pass --schema-dir or set EANTRAG_XDOMEA_SCHEMA_DIR")
    schema = SchemaCheck(schema_dir)
    schema.schema("3.0.0")  # load once, outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        blobs = FileBlobStore(work / "blobs")
        print(f"-- generating {args.cases} cases", file=sys.stderr)
        cases = await make_cases(blobs, args.cases, args.attachment_kb)
        payload = sum(v.size for akte in cases for v in akte.versions())
        contenders: dict[str, list[tuple[float, int]]] = {
            "plain-zip": [],
            "eantrag": [],
            "eantrag-no-xsd": [],
        }
        for round_ in range(args.repeat):
            print(f"-- round {round_ + 1}/{args.repeat}", file=sys.stderr)
            contenders["plain-zip"].append(await run_plain_zip(work, blobs, cases))
            contenders["eantrag"].append(await run_export(work, blobs, cases, schema))
            contenders["eantrag-no-xsd"].append(
                await run_export(work, blobs, cases, SchemaCheck(None, skip=True))
            )
        xml = time_xml(cases, schema)
    base = min(t for t, _ in contenders["plain-zip"])
    rows = []
    for name, runs in contenders.items():
        seconds, size = min(runs)
        rows.append(
            {
                "contender": name,
                "cases": args.cases,
                "seconds": round(seconds, 3),
                "cases_per_s": round(args.cases / seconds, 1),
                "mb_per_s": round(payload / 1e6 / seconds, 1),
                "x_baseline_time": round(seconds / base, 2),
                "zip_mb": round(size / 1e6, 1),
            }
        )
    return {
        "benchmark": "archive",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "params": {
            "cases": args.cases,
            "attachment_kb": args.attachment_kb,
            "repeat": args.repeat,
            "payload_mb": round(payload / 1e6, 1),
        },
        "xml": {k: round(v, 3) if isinstance(v, float) else v for k, v in xml.items()},
        "rows": rows,
    }


def print_table(report: dict[str, Any]) -> None:
    params = report["params"]
    print(
        f"{params['cases']} cases, {params['payload_mb']} MB of primary files, "
        f"best of {params['repeat']}"
    )
    header = (
        f"{'contender':<16} {'seconds':>8} {'cases/s':>9} {'MB/s':>7} "
        f"{'× plain-zip':>11} {'ZIP MB':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in report["rows"]:
        print(
            f"{r['contender']:<16} {r['seconds']:>8.3f} {r['cases_per_s']:>9.1f} "
            f"{r['mb_per_s']:>7.1f} {r['x_baseline_time']:>11.2f} {r['zip_mb']:>7.1f}"
        )
    xml = report["xml"]
    print(
        f"0503 XML alone: {xml['xml_bytes'] / 1e6:.1f} MB; build {xml['build_s']:.3f} s, "
        f"serialise {xml['serialise_s']:.3f} s, XSD validation {xml['validate_s']:.3f} s"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench archive")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--attachment-kb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--schema-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "archive.json")
    args = parser.parse_args(argv)
    report = asyncio.run(bench(args))
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
