"""What the portal's token check costs the intake: `EANTRAG_INTAKE_AUTH=required` against
`off`, in the same run, on the same database.

    python -m bench auth [--seconds 15] [--rounds 3] [--concurrency 64]

Two `eantrag serve --no-workers` processes (real uvicorn) on one PostgreSQL database, one with
the token check and one without, both with the same rate limiter in front (per portal client or
per address). They are loaded in turn — off, required, off, required, … — for `--rounds` rounds
of `--seconds` each (which goes first alternates), so that a drift of the machine's other load
hits both alike; the verdicts compare the median rates and the median CPU time the API process
spent per accepted application. On a machine busy with other work the server is not what limits
the rate (the load generator and the scheduler are), and the CPU per application is the steadier
of the two figures. Each request is a ~3.5 KB Wohngeld XML with its own message UUID,
sent by one portal with a token from `POST /oauth/token` (scope `send:region:DE`).

Beside it, in this process: one signature check of an access token (ES256, what a request pays
the first time a token is seen) and one look-up of a token already verified (every later
request), in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from bench import load
from bench.http import XML, template
from bench.profile import cpu_seconds
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
from identity.portals.keys import ActiveKey
from identity.portals.tokens import TokenVerifier, issue

TARGET = 0.05  # the token check may cost at most 5 % of the intake's throughput


def run(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        processes() as started,
        pg_database() as db_url,
        amqp_vhost() as amqp_url,
    ):
        log_dir = Path(tmp)
        servers: dict[str, str] = {}
        pids: dict[str, int] = {}
        for mode in ("off", "required"):
            env = service_env(
                database_url=db_url,
                amqp_url=amqp_url,
                blob_url=(log_dir / "blobs").as_uri(),
                data_dir=str(log_dir),
                intake_auth=mode,
            )
            port = free_port()
            api = Process(
                f"api-{mode}", eantrag("serve", "--no-workers", "--port", str(port)), env, log_dir
            )
            started.append(api)
            wait_http(f"http://127.0.0.1:{port}/readyz", api)
            servers[mode] = f"http://127.0.0.1:{port}"
            pids[mode] = api.pid
        auth = portal_headers(db_url, servers["required"])
        body = template()
        make = load.unique_bodies(body)
        headers = {"off": {"content-type": XML}, "required": {"content-type": XML, **auth}}
        for mode, base in servers.items():  # warm-up: imports, schema, pools, the first verify
            asyncio.run(
                load.closed_loop(
                    base + "/v1/applications", make, headers[mode], concurrency=8, seconds=2
                )
            )
        for n in range(args.rounds):
            # each mode goes first in every other round, so that neither always meets the
            # tables grown by the other or the machine's load in the same phase
            order = list(servers.items()) if n % 2 == 0 else list(servers.items())[::-1]
            for mode, base in order:
                print(f"-- round {n + 1}: intake auth {mode}", file=sys.stderr)
                cpu_before = cpu_seconds(pids[mode])
                result = asyncio.run(
                    load.closed_loop(
                        base + "/v1/applications",
                        make,
                        headers[mode],
                        concurrency=args.concurrency,
                        seconds=args.seconds,
                    )
                )
                rows.append(
                    {
                        "round": n + 1,
                        "intake_auth": mode,
                        "per_second": result.rate,
                        "accepted": result.ok,
                        "failed": result.failed,
                        "statuses": {str(k): v for k, v in result.statuses.items()},
                        "p50_ms": result.p50_ms,
                        "p99_ms": result.p99_ms,
                        "server_cpu_ms_per_202": 1000
                        * (cpu_seconds(pids[mode]) - cpu_before)
                        / max(1, result.ok),
                    }
                )
    off = statistics.median(r["per_second"] for r in rows if r["intake_auth"] == "off")
    required = statistics.median(r["per_second"] for r in rows if r["intake_auth"] == "required")
    cpu_off = statistics.median(
        r["server_cpu_ms_per_202"] for r in rows if r["intake_auth"] == "off"
    )
    cpu_required = statistics.median(
        r["server_cpu_ms_per_202"] for r in rows if r["intake_auth"] == "required"
    )
    for row in rows:
        row["ratio_vs_off"] = row["per_second"] / off
    return {
        "rows": rows,
        "median_off": off,
        "median_required": required,
        "ratio": required / off,
        "cost": 1 - required / off,
        "cpu_ms_off": cpu_off,
        "cpu_ms_required": cpu_required,
        "cpu_cost": cpu_required / cpu_off - 1,
        "micro": asyncio.run(micro()),
    }


async def micro(n: int = 2000) -> dict[str, float]:
    """µs for one ES256 verification and for one look-up of a token verified before."""
    key = ActiveKey("bench", ec.generate_private_key(ec.SECP256R1()))
    jwk = {"kid": "bench", **_jwk(key)}

    async def load_jwks() -> list[dict[str, Any]]:
        return [jwk]

    def token() -> str:
        return issue(
            key,
            client_id="portal-bench",
            scopes=["send:region:DE"],
            issuer="https://bench",
            audience="urn:eantrag:intake",
            lifetime_seconds=900,
        )

    verifier = TokenVerifier(load_jwks, issuer="https://bench", audience="urn:eantrag:intake")
    fresh = [token() for _ in range(n)]
    started = time.perf_counter()
    for value in fresh:
        await verifier.verify(value)
    first = (time.perf_counter() - started) / n
    started = time.perf_counter()
    for value in fresh:
        await verifier.verify(value)
    again = (time.perf_counter() - started) / n
    return {"verify_first_us": first * 1e6, "verify_cached_us": again * 1e6}


def _jwk(key: ActiveKey) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(key.private_key.public_key()))
    return value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench auth")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS / "auth.json")
    args = parser.parse_args(argv)

    result = run(args)
    print_table(
        result["rows"],
        [
            ("round", "round", "{}"),
            ("EANTRAG_INTAKE_AUTH", "intake_auth", "{}"),
            ("202/s", "per_second", "{:.0f}"),
            ("× off (median)", "ratio_vs_off", "{:.3f}"),
            ("server CPU ms/202", "server_cpu_ms_per_202", "{:.2f}"),
            ("p50 ms", "p50_ms", "{:.1f}"),
            ("p99 ms", "p99_ms", "{:.1f}"),
            ("202s", "accepted", "{}"),
            ("failed", "failed", "{}"),
        ],
    )
    micro_ = result["micro"]
    print(
        f"median 202/s: off {result['median_off']:.0f}, required {result['median_required']:.0f}"
        f"; ratio {result['ratio']:.3f}, the token check costs {100 * result['cost']:.1f} %"
    )
    print(
        f"median server CPU per 202: off {result['cpu_ms_off']:.2f} ms, required "
        f"{result['cpu_ms_required']:.2f} ms; the token check costs "
        f"{100 * result['cpu_cost']:.1f} % more CPU per application"
    )
    print(
        f"in-process: ES256 verification {micro_['verify_first_us']:.0f} µs per new token, "
        f"{micro_['verify_cached_us']:.1f} µs per request with a token verified before"
    )
    failed = sum(r["failed"] for r in result["rows"])
    met = "met" if result["cost"] < TARGET and not failed else "NOT met"
    verdict = (
        f"target token check < {100 * TARGET:.0f} % of intake throughput: {met} "
        f"({100 * result['cost']:.1f} %, {failed} failed requests)"
    )
    cpu_met = "met" if result["cpu_cost"] < TARGET else "NOT met"
    cpu_verdict = (
        f"target token check < {100 * TARGET:.0f} % of the API's CPU per application: "
        f"{cpu_met} ({100 * result['cpu_cost']:.1f} %)"
    )
    print(verdict)
    print(cpu_verdict)
    write_report(
        args.out,
        {
            "benchmark": "auth",
            "command": "python -m bench auth " + " ".join(argv),
            "machine": machine(),
            "baseline": "the same server with EANTRAG_INTAKE_AUTH=off, loaded in turn",
            **result,
            "targets": [verdict, cpu_verdict],
        },
    )
    return 0
