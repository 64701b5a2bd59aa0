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
from typing import Any

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
    # The load tests first: they suffer most when the machine is busy with something else.
    parts: list[tuple[str, object, list[str], Path]] = [
        (
            "http",
            http,
            ["--seconds", "5" if quick else "20", *(["--large", "10m"] if quick else [])],
            RESULTS / "http.json",
        ),
        (
            "pipeline",
            pipeline,
            # without renderings: the issue's CPU figure is the pipeline's (bench/README.md)
            ["--seconds", "10" if quick else "60", "--backend", "both", "--renderings", "off"],
            RESULTS / "pipeline.json",
        ),
        (
            "validation",
            validation,
            ["--sizes", "2k,1m" if quick else "2k,1m,100m", "--repeat", "1" if quick else "3"],
            RESULTS / "validation.json",
        ),
    ]
    combined: dict[str, Any] = {"benchmark": "performance", "machine": machine(), "parts": {}}
    status = 0
    for name, module, part_args, out in parts:
        if name in skip:
            continue
        print(f"\n=== {name}: python -m bench {name} {' '.join(part_args)}", flush=True)
        code = module.main([*part_args, "--out", str(out)])  # type: ignore[attr-defined]
        status = status or code
        combined["parts"][name] = json.loads(out.read_text())
    write_report(args.out, combined)
    print(f"\nall parts: {args.out}", file=sys.stderr)
    if not quick and not skip:
        update_readme(combined, "python -m bench performance " + " ".join(argv))
    return status


README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- last-run:start -->", "<!-- last-run:end -->"


def update_readme(combined: dict[str, Any], command: str, readme: Path = README) -> None:
    """Put the figures of a full run into bench/README.md ("Last run")."""
    text = readme.read_text()
    if START not in text or END not in text:
        return
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + "\n" + render(combined, command) + "\n" + END + tail)


def render(combined: dict[str, Any], command: str) -> str:
    m = combined.get("machine", {})
    lines = [
        f"`{command}` — {m.get('cpus')} CPUs ({m.get('cpu', '?')}), Python {m.get('python')}, "
        f"{m.get('postgres', 'PostgreSQL')}, {m.get('xmllint', 'xmllint')}; load average at "
        f"the start {m.get('load_average')}.",
        "",
    ]
    parts = combined.get("parts", {})
    if "validation" in parts:
        lines += [
            "Validation (wall time per document, best of the runs; ratios > 1 mean faster):",
            "",
            "| size | contender | MB/s | × xmllint | × xmlschema | CPU × xmllint | CPU × xmlschema "
            "| peak RSS MiB | RSS growth MiB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in parts["validation"]["rows"]:
            lines.append(
                f"| {r['size']} | {r['contender']} | {r['mb_per_s']:.1f} | "
                f"{r['ratio_vs_xmllint']:.2f} | {_num(r['ratio_vs_xmlschema'], 1)} | "
                f"{r['cpu_ratio_vs_xmllint']:.2f} | {_num(r['cpu_ratio_vs_xmlschema'], 1)} | "
                f"{_num(r['peak_rss_mib'], 1)} | {_num(r['rss_growth_mib'], 1)} |"
            )
        lines += ["", *[f"- {t}" for t in parts["validation"].get("targets", [])], ""]
    if "http" in parts:
        lines += [
            "HTTP intake (`eantrag serve --no-workers` on PostgreSQL + outbox relay to RabbitMQ, "
            "against the bare validating endpoint):",
            "",
            "| server | load | 202/s | × bare | p50 ms | p99 ms | failed |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in parts["http"]["rows"]:
            lines.append(
                f"| {r['server']} | {r['mode']} ({r['tool']}) | {r['per_second']:.0f} | "
                f"{_num(r.get('ratio_vs_bare'), 2)} | {_num(r['p50_ms'], 1)} | "
                f"{_num(r['p99_ms'], 1)} | {r['failed']} |"
            )
        h = parts["http"]
        lines += [
            "",
            f"Stored applications: {h['stored']} (every 202 of the measurements, "
            f"{h['accepted_measured']}, plus {h['stored_beyond_measured']} from warm-up, large "
            "uploads and requests still in flight when a load stopped).",
            "",
            *[f"- {t}" for t in h.get("targets", [])],
            "",
        ]
    if "pipeline" in parts:
        lines += [
            "End to end, POST → filed case (load for the given time, then the backlog drained):",
            "",
            "| backend | s × connections | POST 202/s | filed/s | × intake | × intake, 2nd half | "
            "filed p50 ms | filed p99 ms | 202s | filed | none lost |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in parts["pipeline"]["rows"]:
            lines.append(
                f"| {r['backend']} | {r['seconds']:.0f} × {r['concurrency']} | "
                f"{r['intake_per_second']:.0f} | {r['filed_per_second']:.0f} | "
                f"{_num(r['ratio_vs_intake'], 2)} | "
                f"{_num(r.get('ratio_vs_intake_second_half'), 2)} | {_num(r['filed_p50_ms'], 0)} | "
                f"{_num(r['filed_p99_ms'], 0)} | {r['accepted']} | {r['filed']} | "
                f"{r['none_lost']} |"
            )
        lines += [
            "",
            "CPU milliseconds per accepted application, by process, during load and drain "
            "(what limits the rate: a machine's CPUs divided by the total):",
            "",
            "| backend | " + " | ".join(_roles(parts["pipeline"]["rows"])) + " | whole machine |",
            "|---|" + "---|" * (len(_roles(parts["pipeline"]["rows"])) + 1),
        ]
        for r in parts["pipeline"]["rows"]:
            costs = r.get("cpu_ms_per_accepted_application", {})
            whole = r.get("machine_during_load_and_drain", {})
            cells = [_num(costs.get(role), 2) for role in _roles(parts["pipeline"]["rows"])]
            lines.append(
                f"| {r['backend']} | " + " | ".join(cells) + f" | "
                f"{_num(whole.get('cpu_ms_per_application'), 2)} "
                f"({_num(whole.get('percent_of_all_cpus'), 0)} % busy) |"
            )
        lines += ["", *[f"- {t}" for t in parts["pipeline"].get("targets", [])], ""]
    return "\n".join(lines)


def _roles(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for role in row.get("cpu_ms_per_accepted_application", {}):
            seen.setdefault(role, None)
    return list(seen)


def _num(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
