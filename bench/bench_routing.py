"""Routing: decisions per second, and intake → authority inbox throughput.

    python -m bench routing [--decisions 20000] [--applications 2000] [--no-pipeline]

1. Resolution against the demo directory (`examples/directory-sachsen.xml`), on SQLite and on
   PostgreSQL, with a mix of queries (12-, 9- and 5-digit matches, postcode fallback, ambiguous
   postcode, no match). Contenders:
   - `in-memory` — `DirectoryIndex.resolve`, the directory loaded once (no query);
   - `query-per-decision` — `service.resolve`, one candidates query per decision (the baseline);
   - `grouped-64` — `service.resolve_many` for 64 decisions at a time, as the router does for a
     group of deliveries (two queries per group).
2. The pipeline on PostgreSQL + RabbitMQ: N applications (the Dresden dog registration and the
   Leipzig Wohngeld examples, alternating) POSTed to the API in-process with 32 concurrent
   clients while the relay, router and status workers run; measured until every application has
   a routing decision and the relay's outbox is empty, then the inbox depths are checked.
   The run uses a vhost of its own (made and removed with `rabbitmqctl`), so other pipelines
   on the same broker cannot take its messages; without `rabbitmqctl` it falls back to the
   default vhost with per-run authority ids.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.report import RESULTS, machine, print_table, write_report
from bench.services import UNLIMITED, portal_authorization
from bootstrap.app import create_app, run_workers, stop_workers
from bootstrap.wiring import open_pipeline
from eantrag import schema
from eantrag.broker import authority_queue, dead_letter_queue
from eantrag.db import Database
from eantrag.logs import configure_logging
from eantrag.models import OutboxMessage
from eantrag.settings import Settings
from routing import service
from routing.models import RoutingDecision
from routing.service import DirectoryIndex, Query
from routing.xzufi import read_xzufi

ROOT = Path(__file__).resolve().parents[1]
DIRECTORY = ROOT / "examples" / "directory-sachsen.xml"
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DOG, WOHNGELD = "99102013104000", "99107023037000"
MIX = [
    Query(DOG, "146120000000"),
    Query(WOHNGELD, "147130000000"),
    Query(DOG, "145215115430"),
    Query(WOHNGELD, "145215115430"),
    Query(WOHNGELD, "146289990902"),
    Query(DOG, None, "01069"),
    Query(DOG, None, "01796"),
    Query(DOG, "091620000000"),
]


async def resolution(url: str, decisions: int) -> list[dict[str, Any]]:
    await schema.upgrade_async(url)
    db = Database(url, pool_size=4)
    try:
        async with db.transaction() as session:
            await service.import_directory(session, read_xzufi(DIRECTORY))
        queries = [MIX[i % len(MIX)] for i in range(decisions)]
        rows = []
        async with db.sessionmaker() as session:
            index = await DirectoryIndex.load(session)
            start = time.perf_counter()
            for q in queries:
                index.resolve(q.service, q.ars, q.postcode)
            rows.append(_rate("in-memory", decisions, time.perf_counter() - start))
            sample = queries[: max(decisions // 10, 500)]
            start = time.perf_counter()
            for q in sample:
                await service.resolve(session, q.service, q.ars, q.postcode)
            rows.append(_rate("query-per-decision", len(sample), time.perf_counter() - start))
            start = time.perf_counter()
            for offset in range(0, len(sample), 64):
                await service.resolve_many(session, sample[offset : offset + 64])
            rows.append(_rate("grouped-64", len(sample), time.perf_counter() - start))
            got = await service.resolve_many(session, MIX)
            assert got == [index.resolve(q.service, q.ars, q.postcode) for q in MIX]
        return rows
    finally:
        await db.dispose()


def _rate(name: str, count: int, seconds: float) -> dict[str, Any]:
    return {
        "contender": name,
        "decisions": count,
        "seconds": round(seconds, 4),
        "per_second": round(count / seconds, 1),
        "us_per_decision": seconds / count * 1e6,
    }


async def pipeline(url: str, amqp: str, applications: int, data_dir: Path) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        amqp_url=amqp,
        blob_url=(data_dir / "blobs").as_uri(),
        db_pool_size=20,
        log_level="WARNING",
        rate_limit_intake=UNLIMITED,  # one portal sends everything; its limit is not measured
    )
    await schema.upgrade_async(url)
    runtime = await open_pipeline(settings)
    batch = read_xzufi(DIRECTORY)
    batch.authorities = {
        f"{k}-{suffix}": replace(a, id=f"{a.id}-{suffix}") for k, a in batch.authorities.items()
    }
    batch.responsibilities = [
        replace(r, authority_id=f"{r.authority_id}-{suffix}") for r in batch.responsibilities
    ]
    async with runtime.db.transaction() as session:
        report = await service.import_directory(session, batch)
    bodies = [
        ((ROOT / "examples" / "hundeanmeldung.xml").read_bytes(), "application/xml"),
        ((ROOT / "examples" / "wohngeld.json").read_bytes(), "application/json"),
    ]
    app = create_app(settings, runtime=runtime)
    tasks = await run_workers(runtime, ["outbox-relay", "router"])
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                client.headers.update(await portal_authorization(runtime.db, client))
                semaphore = asyncio.Semaphore(32)

                async def submit(n: int) -> None:
                    body, media = bodies[n % 2]
                    # A message of its own each time: a repeated nachrichtenUUID is filed once.
                    body = re.sub(
                        rb'(nachrichtenUUID(?:>|"\s*:\s*"))[0-9a-f-]{36}',
                        lambda m: m.group(1) + str(uuid.uuid4()).encode(),
                        body,
                        count=1,
                    )
                    async with semaphore:
                        response = await client.post(
                            "/v1/applications", content=body, headers={"content-type": media}
                        )
                    response.raise_for_status()

                start = time.perf_counter()
                await asyncio.gather(*(submit(n) for n in range(applications)))
                accepted = time.perf_counter() - start
                while not await _done(runtime.db, applications):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                total = time.perf_counter() - start
    finally:
        await stop_workers(tasks)
        await runtime.close()
    depths = await _inbox_depths(
        amqp,
        [authority_queue(f"stadt-dresden-{suffix}"), authority_queue(f"stadt-leipzig-{suffix}")],
    )
    await _delete_queues(amqp, report.authority_ids)
    assert sum(depths) == applications, depths
    return {
        "contender": "intake→inbox (PostgreSQL + RabbitMQ)",
        "applications": applications,
        "accept_seconds": round(accepted, 2),
        "accept_per_second": round(applications / accepted, 1),
        "end_to_end_seconds": round(total, 2),
        "end_to_end_per_second": round(applications / total, 1),
        "inbox_depths": depths,
    }


async def _done(db: Database, expected: int) -> bool:
    async with db.sessionmaker() as session:
        decided = await session.scalar(select(func.count()).select_from(RoutingDecision))
        pending = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return decided == expected and pending == 0


async def _inbox_depths(amqp: str, queues: list[str]) -> list[int]:
    connection = await aio_pika.connect(amqp)
    async with connection:
        channel = await connection.channel()
        depths = []
        for name in queues:
            queue = await channel.declare_queue(name, passive=True)
            depths.append(int(queue.declaration_result.message_count or 0))
        return depths


async def _delete_queues(amqp: str, authority_ids: list[str]) -> None:
    connection = await aio_pika.connect(amqp)
    async with connection:
        channel = await connection.channel()
        for authority_id in authority_ids:
            for name in (
                authority_queue(authority_id),
                dead_letter_queue(authority_queue(authority_id)),
            ):
                await channel.queue_delete(name)
        for shared in ("eantrag.status", "eantrag.routing"):
            await (await channel.declare_queue(shared, passive=True)).purge()


def _rabbitmqctl(*args: str) -> bool:
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _own_vhost() -> str | None:
    """A vhost for this run only, or None when rabbitmqctl cannot make one."""
    name = f"bench-routing-{uuid.uuid4().hex[:8]}"
    if _rabbitmqctl("add_vhost", name) and _rabbitmqctl(
        "set_permissions", "-p", name, "guest", ".*", ".*", ".*"
    ):
        return name
    return None


async def _fresh_pg() -> tuple[str, str] | None:
    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"bench_routing_{uuid.uuid4().hex[:8]}"
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL not reachable ({exc!r}); skipped", file=sys.stderr)
        return None
    finally:
        await engine.dispose()
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


async def _drop_pg(name: str) -> None:
    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for row in await resolution(f"sqlite+aiosqlite:///{tmp}/bench.db", args.decisions):
            rows.append({"database": "sqlite", **row})
        pg = await _fresh_pg()
        if pg is not None:
            try:
                for row in await resolution(pg[1], args.decisions):
                    rows.append({"database": "postgresql", **row})
            finally:
                await _drop_pg(pg[0])
        end_to_end = None
        if args.pipeline:
            pg = await _fresh_pg()
            if pg is not None:
                vhost = _own_vhost()
                amqp = AMQP + vhost if vhost else AMQP
                try:
                    end_to_end = await pipeline(pg[1], amqp, args.applications, Path(tmp))
                finally:
                    await _drop_pg(pg[0])
                    if vhost:
                        _rabbitmqctl("delete_vhost", vhost)
    return {
        "benchmark": "routing",
        "machine": machine(),
        "resolution": rows,
        "pipeline": end_to_end,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench routing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--applications", type=int, default=2_000)
    parser.add_argument(
        "--no-pipeline",
        dest="pipeline",
        action="store_false",
        help="Skip the PostgreSQL + RabbitMQ pipeline run.",
    )
    args = parser.parse_args(argv)
    configure_logging("console", "WARNING")
    report = asyncio.run(run(args))
    print_table(
        report["resolution"],
        [
            ("database", "database", "{}"),
            ("contender", "contender", "{}"),
            ("decisions", "decisions", "{}"),
            ("decisions/s", "per_second", "{:,.0f}"),
            ("µs/decision", "us_per_decision", "{:,.1f}"),
        ],
    )
    if report["pipeline"]:
        print()
        print_table(
            [report["pipeline"]],
            [
                ("pipeline", "contender", "{}"),
                ("applications", "applications", "{}"),
                ("accepted/s", "accept_per_second", "{:,.0f}"),
                ("end-to-end s", "end_to_end_seconds", "{:.1f}"),
                ("routed/s end-to-end", "end_to_end_per_second", "{:,.0f}"),
            ],
        )
    write_report(RESULTS / "routing.json", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
