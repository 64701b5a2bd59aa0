"""The performance issue's benchmark in one command: validation, HTTP intake, end to end on
PostgreSQL + RabbitMQ, and end to end on the embedded default.

    python -m bench performance [--quick]

Each part prints its table and writes its own JSON report to `bench/results/`; this writes
`bench/results/performance.json` with all of them. `--quick` shortens every part (for a smoke
test, not for figures). The parts can be run alone: `python -m bench validation|http|pipeline`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import http, pipeline, validation
from bench.report import RESULTS, machine, write_report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench performance")
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test")
    parser.add_argument("--skip", default="", help="parts to leave out, e.g. validation,http")
    parser.add_argument("--out", type=Path, default=RESULTS / "performance.json")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))

    quick = args.quick
    parts: list[tuple[str, object, list[str], Path]] = [
        (
            "validation",
            validation,
            ["--sizes", "2k,1m" if quick else "2k,1m,100m", "--repeat", "1" if quick else "3"],
            RESULTS / "validation.json",
        ),
        (
            "http",
            http,
            ["--seconds", "5" if quick else "20", *(["--large", "10m"] if quick else [])],
            RESULTS / "http.json",
        ),
        (
            "pipeline",
            pipeline,
            ["--seconds", "10" if quick else "60", "--backend", "both"],
            RESULTS / "pipeline.json",
        ),
    ]
    combined = {"benchmark": "performance", "machine": machine(), "parts": {}}
    status = 0
    for name, module, part_args, out in parts:
        if name in skip:
            continue
        print(f"\n=== {name}: python -m bench {name} {' '.join(part_args)}", flush=True)
        code = module.main([*part_args, "--out", str(out)])  # type: ignore[attr-defined]
        status = status or code
        combined["parts"][name] = json.loads(out.read_text())  # type: ignore[index]
    write_report(args.out, combined)
    print(f"\nall parts: {args.out}", file=sys.stderr)
    return status
