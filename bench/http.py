"""HTTP intake: applications per second and latency of `eantrag serve` on PostgreSQL and RabbitMQ,
against the bare endpoint (the same reading and validation, nothing stored) in the same run.

    python -m bench http [--seconds 20] [--concurrency 64] [--rate 200] [--large 100m]

Both servers are real uvicorn processes with the same settings. `eantrag serve --no-workers`
takes the requests (PostgreSQL database and RabbitMQ virtual host of its own, blobs in a
directory); an `eantrag worker outbox-relay` process moves the outbox to RabbitMQ meanwhile, as
in a scaled deployment. Measured, for each server:

- closed loop: `--concurrency` keep-alive connections as fast as answers come (wrk if installed);
- open loop: `--rate` applications per second, latency from when each was due;
- open loop again while one `--large` application (inline attachments) is being uploaded, to see
  whether a large document holds up the small ones.

Each application is a ~3.5 KB Wohngeld XML with its own message UUID. At the end the database
must hold exactly as many applications as got a 202.

Then, as the baseline of the tiered blob store (`--no-file-blobs` skips it), the same server
once more with `EANTRAG_BLOB_INLINE_MAX_BYTES=0`: every original a file of its own, written and
fsynced (file, then directory) before the commit, as before documents up to 64 KiB became rows
of the application's own commit.

Last, a diagnosis and not a contender (`--no-async-commit` skips it): the same server on a
database with `synchronous_commit=off`, whose commits do not wait for the WAL to reach the disk.
Not durable; it shows how much of the latency tail is the disk's flushes (a virtual disk's
fdatasync now and then takes hundreds of milliseconds, and every request of the group commit
waiting on it waits that long).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import load
from bench.generate import WOHNGELD, smallest, wohngeld_xml_unchecked
from bench.profile import Recorder, cpu_seconds
from bench.report import RESULTS, machine, print_table, write_report
from bench.services import (
    Process,
    amqp_vhost,
    eantrag,
    free_port,
    pg_database,
    portal_headers,
    processes,
    service_env,
    wait_http,
)
from bench.validation import parse_size
from intake.models import Application

XML = "application/xml"
LARGE_CAP = 160 * 1024 * 1024
FILE_SERVER = "eantrag, every document a file (baseline)"
ASYNC_SERVER = "eantrag, synchronous_commit=off (diagnosis)"


def template() -> bytes:
    return WOHNGELD.record_to_xml(smallest())


async def count_applications(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.scalar(select(func.count()).select_from(Application))) or 0)
    finally:
        await engine.dispose()


async def outbox_depth(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.scalar(text("SELECT count(*) FROM outbox"))) or 0)
    finally:
        await engine.dispose()


def measure_server(
    name: str,
    base_url: str,
    args: argparse.Namespace,
    large: bytes | None,
    pid: int,
    auth: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    url = base_url + "/v1/applications"
    body = template()
    make = load.unique_bodies(body)
    headers = {"content-type": XML, **(auth or {})}
    rows = []
    # warm-up: imports, schema compilation, connection pools
    asyncio.run(load.closed_loop(url, make, headers, concurrency=8, seconds=2))

    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    if load.have_wrk() and not args.no_wrk:
        closed = load.wrk_closed_loop(
            url, body, XML, concurrency=args.concurrency, seconds=args.seconds, headers=auth
        )
    else:
        closed = asyncio.run(
            load.closed_loop(url, make, headers, concurrency=args.concurrency, seconds=args.seconds)
        )
    row = _row(name, f"closed loop, {args.concurrency} connections", closed)
    # the server's CPU (100 % = one core): saturated, or waiting on something?
    row["server_cpu_percent"] = (
        100 * (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - started)
    )
    rows.append(row)

    opened = asyncio.run(load.open_loop(url, make, headers, rate=args.rate, seconds=args.seconds))
    rows.append(_row(name, f"open loop, {args.rate:g}/s", opened))

    if large is not None:
        rows.append(
            _row(
                name,
                f"open loop, {args.rate:g}/s + large",
                *_with_large(url, make, headers, args, large),
            )
        )
    return rows


def _with_large(
    url: str, make: Any, headers: dict[str, str], args: argparse.Namespace, large: bytes
) -> tuple[load.LoadResult, dict[str, Any]]:
    async def both() -> tuple[load.LoadResult, dict[str, Any]]:
        async def upload() -> dict[str, Any]:
            async with httpx.AsyncClient(timeout=300) as client:
                t0 = time.perf_counter()
                response = await client.post(url, content=large, headers=headers)
                return {"status": response.status_code, "seconds": time.perf_counter() - t0}

        small = asyncio.create_task(
            load.open_loop(url, make, headers, rate=args.rate, seconds=args.seconds)
        )
        await asyncio.sleep(min(2.0, args.seconds / 4))
        big = await upload()
        return await small, big

    return asyncio.run(both())


def _row(
    server: str, mode: str, result: load.LoadResult, large: dict[str, Any] | None = None
) -> dict[str, Any]:
    row = {
        "server": server,
        "mode": mode,
        "tool": result.tool,
        "seconds": round(result.seconds, 2),
        "accepted": result.ok,
        "failed": result.failed,
        "per_second": result.rate,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
    }
    if large is not None:
        row["large_status"] = large["status"]
        row["large_seconds"] = large["seconds"]
    return row


def _measure_variant(
    name: str,
    args: argparse.Namespace,
    caps: dict[str, str],
    log_dir: Path,
    started: list[Process],
    *,
    synchronous_commit: bool = True,
    **settings: str,
) -> list[dict[str, Any]]:
    """The same server once more with other settings (no large upload)."""
    tag = f"{len(started)}"
    with (
        pg_database(synchronous_commit=synchronous_commit) as db_url,
        amqp_vhost() as amqp_url,
    ):
        env = service_env(
            database_url=db_url,
            amqp_url=amqp_url,
            blob_url=(log_dir / f"blobs-{tag}").as_uri(),
            data_dir=str(log_dir),
            **caps,
            **settings,
        )
        port = free_port()
        api = Process(
            f"api-{tag}", eantrag("serve", "--no-workers", "--port", str(port)), env, log_dir
        )
        started.append(api)
        relay = Process(f"relay-{tag}", eantrag("worker", "outbox-relay"), env, log_dir)
        started.append(relay)
        wait_http(f"http://127.0.0.1:{port}/readyz", api)
        print(f"-- {name}", file=sys.stderr)
        base = f"http://127.0.0.1:{port}"
        rows = measure_server(name, base, args, None, api.pid, portal_headers(db_url, base))
        api.stop()
        relay.stop()
        return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    large = wohngeld_xml_unchecked(parse_size(args.large)) if args.large else None
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, processes() as started:
        log_dir = Path(tmp)
        caps = {
            "max_body_bytes": str(LARGE_CAP),
            "form_max_bytes": f'{{"{WOHNGELD.id}": {LARGE_CAP}}}',
        }
        port = free_port()
        bare = Process(
            "bare",
            [sys.executable, "-m", "bench.bare_app", "--port", str(port)],
            service_env(**caps),
            log_dir,
        )
        started.append(bare)
        wait_http(f"http://127.0.0.1:{port}/healthz", bare)
        print("-- bare endpoint", file=sys.stderr)
        rows += measure_server("bare", f"http://127.0.0.1:{port}", args, large, bare.pid)
        bare.stop()

        with pg_database() as db_url, amqp_vhost() as amqp_url:
            env = service_env(
                database_url=db_url,
                amqp_url=amqp_url,
                blob_url=(log_dir / "blobs").as_uri(),
                data_dir=str(log_dir),
                **caps,
            )
            port = free_port()
            api = Process(
                "api", eantrag("serve", "--no-workers", "--port", str(port)), env, log_dir
            )
            started.append(api)
            relay = Process("relay", eantrag("worker", "outbox-relay"), env, log_dir)
            started.append(relay)
            wait_http(f"http://127.0.0.1:{port}/readyz", api)
            print("-- eantrag serve (PostgreSQL, RabbitMQ)", file=sys.stderr)
            profile = _start_profile(api, args, log_dir)
            base = f"http://127.0.0.1:{port}"
            auth = portal_headers(db_url, base)
            rows += measure_server("eantrag", base, args, large, api.pid, auth)
            profiled = _stop_profile(profile, args)
            stored = asyncio.run(count_applications(db_url))
            accepted = sum(r["accepted"] for r in rows if r["server"] == "eantrag")
            warmup_and_large = stored - accepted
            pending = asyncio.run(outbox_depth(db_url))
            api.stop()
            relay.stop()
        if args.file_blobs:
            # the baseline of the tiered blob store: every original a file, fsynced first
            rows += _measure_variant(
                FILE_SERVER, args, caps, log_dir, started, blob_inline_max_bytes="0"
            )
        if args.async_commit:
            rows += _measure_variant(
                ASYNC_SERVER, args, caps, log_dir, started, synchronous_commit=False
            )
    bare_rate = next(r["per_second"] for r in rows if r["server"] == "bare")
    for row in rows:
        row["ratio_vs_bare"] = (
            row["per_second"] / bare_rate if row["mode"].startswith("closed") else None
        )
    return {
        "rows": rows,
        "stored": stored,
        "accepted_measured": accepted,
        "stored_beyond_measured": warmup_and_large,
        "outbox_left": pending,
        "profile": profiled,
    }


def _start_profile(api: Process, args: argparse.Namespace, log_dir: Path) -> Recorder | None:
    if not args.profile:
        return None
    return Recorder(api.pid, args.seconds + 4, log_dir / "profile.txt", rate=250, gil=True)


def _stop_profile(
    profile: Recorder | None, args: argparse.Namespace
) -> list[dict[str, Any]] | None:
    if profile is None:
        return None
    return profile.finish(args.profile_out, timeout=args.seconds * 4 + 60)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench http")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--large", default="100m", help="size of the large upload ('' for none)")
    parser.add_argument("--no-wrk", action="store_true", help="httpx even if wrk is installed")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the API process (the GIL holder)"
    )
    parser.add_argument(
        "--no-file-blobs",
        dest="file_blobs",
        action="store_false",
        help="skip the baseline run with every document a file of its own",
    )
    parser.add_argument(
        "--no-async-commit",
        dest="async_commit",
        action="store_false",
        help="skip the diagnosis run with PostgreSQL's synchronous_commit=off",
    )
    parser.add_argument("--profile-out", type=Path, default=RESULTS / "http-profile.txt")
    parser.add_argument("--out", type=Path, default=RESULTS / "http.json")
    args = parser.parse_args(argv)

    result = run(args)
    rows = result["rows"]
    print_table(
        rows,
        [
            ("server", "server", "{}"),
            ("load", "mode", "{}"),
            ("tool", "tool", "{}"),
            ("202/s", "per_second", "{:.0f}"),
            ("× bare", "ratio_vs_bare", "{:.2f}"),
            ("p50 ms", "p50_ms", "{:.1f}"),
            ("p99 ms", "p99_ms", "{:.1f}"),
            ("202s", "accepted", "{}"),
            ("failed", "failed", "{}"),
            ("large s", "large_seconds", "{:.1f}"),
            ("server CPU %", "server_cpu_percent", "{:.0f}"),
        ],
    )
    print(
        f"stored applications: {result['stored']} = {result['accepted_measured']} measured 202s "
        f"+ {result['stored_beyond_measured']} from warm-up and the large upload; "
        f"outbox rows left: {result['outbox_left']}"
    )
    verdicts = targets(rows, args)
    for line in verdicts:
        print(line)
    write_report(
        args.out,
        {
            "benchmark": "http",
            "command": "python -m bench http " + " ".join(argv),
            "machine": machine(),
            "baseline": "bench.bare_app: the same reading and validation, nothing stored",
            **result,
            "targets": verdicts,
        },
    )
    return 0


def targets(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    lines = []
    closed = next(
        (r for r in rows if r["server"] == "eantrag" and r["mode"].startswith("closed")), None
    )
    if closed is not None and closed["ratio_vs_bare"] is not None:
        ratio = closed["ratio_vs_bare"]
        met = "met" if ratio >= 0.5 else "NOT met"
        lines.append(f"target eantrag ≥ 50% of the bare endpoint: {met} ({ratio:.2f})")
    opened = next(
        (
            r
            for r in rows
            if r["server"] == "eantrag" and r["mode"] == f"open loop, {args.rate:g}/s"
        ),
        None,
    )
    if opened is not None and opened["p99_ms"] is not None:
        met = "met" if opened["p99_ms"] <= 50 and not opened["failed"] else "NOT met"
        lines.append(f"target p99 ≤ 50 ms at {args.rate:g}/s: {met} ({opened['p99_ms']:.1f} ms)")
    return lines
