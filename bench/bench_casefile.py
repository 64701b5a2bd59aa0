"""Filing throughput: authority messages into the e-Akte on PostgreSQL, documents in S3.

    python -m bench casefile [--count 400] [--concurrency 1,8] [--attachment-kib 64]

Each filing is the consumer's whole unit of work without the broker: read the original and the
attachment back from the blob store and check their SHA-256, render the HTML view and store it,
then one transaction (file-plan unit, Aktenzeichen counter, Akte, Vorgang, Dokumente, audit
entry, status event, processed-message id). Blob stores, measured in the same run:
- `s3` — `S3BlobStore` against moto's S3 server (a separate process, real HTTP);
- `file` — the content-addressed directory of the embedded default (the baseline).
The database is a fresh PostgreSQL database (`EANTRAG_TEST_PG_URL` names the server).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from casefile.consumers import filing_handler
from contracts.application import AUTHORITY_MESSAGE_TYPE, delivery_message_id
from eantrag import schema
from eantrag.blobs import BlobStore
from eantrag.broker import IncomingMessage, authority_queue
from eantrag.paths import project_root
from eantrag.runtime import Runtime, open_runtime
from eantrag.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN_URL = os.environ.get(
    "EANTRAG_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
RECORD = orjson.loads((project_root() / "examples" / "hundeanmeldung.json").read_bytes())
ORIGINAL = (project_root() / "examples" / "hundeanmeldung.xml").read_bytes()


# --- infrastructure --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_moto(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from moto.server import main; main()",
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto's S3 server did not start")


async def admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


# --- workload --------------------------------------------------------------------------------


async def _store(blobs: BlobStore, data: bytes, media_type: str) -> dict[str, Any]:
    sha256 = hashlib.sha256(data).hexdigest()
    key = await blobs.put(io.BytesIO(data), sha256, len(data), media_type)
    return {
        "blobKey": key,
        "sha256": sha256,
        "sha512": hashlib.sha512(data).hexdigest(),
        "size": len(data),
        "mediaType": media_type,
    }


async def messages(
    blobs: BlobStore, authority: str, count: int, attachment_bytes: int
) -> list[IncomingMessage]:
    """Authority messages whose documents are already in the store (set-up, not timed)."""
    out = []
    now = datetime.now(UTC).isoformat()
    for n in range(count):
        application_id = uuid.uuid4()
        original = await _store(
            blobs, ORIGINAL + f"<!-- {application_id} -->".encode(), "application/xml"
        )
        attachments = []
        if attachment_bytes:
            pdf = b"%PDF-1.4\n" + os.urandom(attachment_bytes)
            attachments.append(
                {
                    **await _store(blobs, pdf, "application/pdf"),
                    "attachmentId": "anlage-1",
                    "filename": "nachweis.pdf",
                    "purpose": "attachment",
                }
            )
        body = {
            "version": "1.0",
            "type": AUTHORITY_MESSAGE_TYPE,
            "applicationId": str(application_id),
            "formId": "hundeanmeldung",
            "leikaUrn": "urn:de:fim:leika:leistung:99102013104000",
            "receivedAt": now,
            "authority": {"id": authority, "name": f"Bench {authority}"},
            "routing": {
                "matchedAreaKey": "146120000000",
                "ars": "146120000000",
                "postleitzahl": "01069",
                "decidedAt": now,
            },
            "record": {**RECORD, "bench": n},
            "original": original,
            "attachments": attachments,
        }
        out.append(
            IncomingMessage(
                message_id=delivery_message_id(application_id, authority),
                queue=authority_queue(authority),
                routing_key=authority,
                type=AUTHORITY_MESSAGE_TYPE,
                body=orjson.dumps(body),
                headers={},
                attempts=0,
            )
        )
    return out


async def run_one(
    runtime: Runtime, backend: str, count: int, concurrency: int, attachment_bytes: int
) -> dict[str, Any]:
    authority = f"bench-{backend}-c{concurrency}-{uuid.uuid4().hex[:6]}"
    batch = await messages(runtime.blobs, authority, count, attachment_bytes)
    handle = filing_handler(runtime)
    queue: asyncio.Queue[IncomingMessage] = asyncio.Queue()
    for message in batch:
        queue.put_nowait(message)
    latencies: list[float] = []

    async def consumer() -> None:
        while not queue.empty():
            message = queue.get_nowait()
            started = time.perf_counter()
            await handle(message)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(consumer() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    async with runtime.db.sessionmaker() as session:
        filed = await session.scalar(
            text("SELECT count(*) FROM casefile_akten WHERE authority_id = :a"), {"a": authority}
        )
    assert filed == count, f"{filed} of {count} filed"
    latencies.sort()
    return {
        "backend": backend,
        "concurrency": concurrency,
        "cases": count,
        "seconds": round(seconds, 3),
        "cases_per_s": round(count / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
    }


async def bench(args: argparse.Namespace) -> list[dict[str, Any]]:
    database = f"eantrag_bench_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{database}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    port = free_port()
    moto = start_moto(port)
    rows: list[dict[str, Any]] = []
    try:
        await schema.upgrade_async(url)
        with tempfile.TemporaryDirectory() as tmp:
            backends = {
                "s3": {
                    "blob_url": "s3://bench-cases",
                    "s3_endpoint": f"http://127.0.0.1:{port}",
                    "s3_access_key": "testing",
                    "s3_secret_key": "testing",
                    "s3_region": "us-east-1",
                },
                "file": {"blob_url": (Path(tmp) / "blobs").as_uri()},
            }
            for backend, blob_settings in backends.items():
                settings = Settings(
                    data_dir=Path(tmp),
                    database_url=url,
                    amqp_url=None,
                    db_pool_size=max(args.concurrency) + 2,
                    log_level="WARNING",
                    **blob_settings,
                )
                runtime = await open_runtime(settings)
                try:
                    await run_one(runtime, backend, 20, 4, args.attachment_kib * 1024)  # warm-up
                    for concurrency in args.concurrency:
                        print(f"-- {backend}, concurrency {concurrency}", file=sys.stderr)
                        rows.append(
                            await run_one(
                                runtime,
                                backend,
                                args.count,
                                concurrency,
                                args.attachment_kib * 1024,
                            )
                        )
                finally:
                    await runtime.close()
    finally:
        moto.terminate()
        moto.wait(10)
        await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    baseline = {r["concurrency"]: r["cases_per_s"] for r in rows if r["backend"] == "file"}
    for row in rows:
        row["ratio_vs_file"] = round(row["cases_per_s"] / baseline[row["concurrency"]], 2)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'blobs':<6} {'conc.':>5} {'cases':>6} {'seconds':>8} {'cases/s':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'×file':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['backend']:<6} {r['concurrency']:>5} {r['cases']:>6} {r['seconds']:>8.2f} "
            f"{r['cases_per_s']:>8.1f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
            f"{r['ratio_vs_file']:>6.2f}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench casefile")
    parser.add_argument("--count", type=int, default=400, help="filings per measurement")
    parser.add_argument(
        "--concurrency", default="1,8", help="concurrent filings (consumer tasks), comma-separated"
    )
    parser.add_argument(
        "--attachment-kib",
        type=int,
        default=64,
        help="size of the one attachment per application (0: none)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "casefile.json")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    load = os.getloadavg()[0]  # other work on the machine skews every figure
    rows = asyncio.run(bench(args))
    print_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "casefile",
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "load_average_at_start": round(load, 2),
                },
                "settings": {
                    "count": args.count,
                    "attachment_kib": args.attachment_kib,
                    "database": "postgresql",
                    "s3": "moto server (separate process)",
                },
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwritten {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
