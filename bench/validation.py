"""Validation throughput and memory: the intake's streaming validator against its alternatives.

    python -m bench validation [--sizes 2k,1m,100m] [--repeat 3] [--xmlschema-limit 20m]

Contenders, each run in a fresh subprocess so that peak RSS is its own:
- `eantrag` — the intake's XmlStreamValidator fed 64 KiB chunks (schema validation only), and
  `eantrag+record` — the same plus record extraction and the business rules (what intake runs);
- `xmllint` — `xmllint --noout --stream --schema` (libxml2 itself: the limit), the baseline;
- `lxml-tree` — parse the whole tree, then `XMLSchema.validate`;
- `xmlschema` — the pure-Python validator (skipped above --xmlschema-limit: minutes per run).

Every figure is also given as a ratio against xmllint measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.generate import WOHNGELD, wohngeld_xml

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = {"2k": 2 * 1024, "1m": 1024 * 1024, "100m": 100 * 1024 * 1024}
CHUNK = 64 * 1024


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1024, "m": 1024 * 1024}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


# --- contenders, run inside a child process -------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(contender: str, path: str) -> dict[str, Any]:
    """Runs in the subprocess: set up (imports, schema), then time the validation alone."""
    from lxml import etree

    if contender in ("eantrag", "eantrag+record"):
        from intake.validation import XmlStreamValidator, finish_xml, schema_for

        schema_for(WOHNGELD.id)
        baseline = _rss_kib()
        start = time.perf_counter()
        validator = XmlStreamValidator()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                validator.feed(chunk)
        if contender == "eantrag":
            validator.close()
        else:
            finish_xml(validator)
        elapsed = time.perf_counter() - start
    elif contender == "lxml-tree":
        schema = etree.XMLSchema(etree.parse(str(WOHNGELD.xsd_path)))
        baseline = _rss_kib()
        start = time.perf_counter()
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        tree = etree.parse(path, parser)
        if not schema.validate(tree):
            raise SystemExit(f"lxml-tree: invalid: {schema.error_log.last_error}")
        elapsed = time.perf_counter() - start
    elif contender == "xmlschema":
        import xmlschema

        schema = xmlschema.XMLSchema(str(WOHNGELD.xsd_path))
        baseline = _rss_kib()
        start = time.perf_counter()
        schema.validate(path)
        elapsed = time.perf_counter() - start
    else:
        raise SystemExit(f"unknown contender {contender}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": elapsed, "peak_rss_kib": peak, "rss_growth_kib": max(0, peak - baseline)}


# --- the driver ------------------------------------------------------------------------------


def run_python(contender: str, path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.validation", "--child", contender, str(path)],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{contender} failed: {result.stderr[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def run_xmllint(path: Path) -> dict[str, Any]:
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        raise RuntimeError("xmllint not found (Debian: apt-get install libxml2-utils)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(
        [xmllint, "--noout", "--stream", "--schema", str(WOHNGELD.xsd_path), str(path)],
        capture_output=True, text=True, check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"xmllint rejected the document: {result.stderr[-1000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": elapsed, "peak_rss_kib": peak if peak > before else None,
            "rss_growth_kib": None}


def best_of(repeat: int, run: Any) -> dict[str, Any]:
    runs = [run() for _ in range(repeat)]
    return min(runs, key=lambda r: r["seconds"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench validation")
    parser.add_argument("--sizes", default="2k,1m,100m")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--xmlschema-limit", default="20m",
                        help="skip xmlschema above this size (it takes minutes)")
    parser.add_argument("--out", type=Path, default=RESULTS / "validation.json")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for label in args.sizes.split(","):
            size = SIZES.get(label) or parse_size(label)
            document = wohngeld_xml(size)
            path = Path(tmp) / f"wohngeld-{label}.xml"
            path.write_bytes(document)
            mb = len(document) / 1e6
            repeat = args.repeat if len(document) < 50 * 1024 * 1024 else 1
            print(f"-- {label}: {len(document):,} bytes, best of {repeat}", file=sys.stderr)
            results = {"xmllint": best_of(repeat, lambda p=path: run_xmllint(p))}
            contenders = ["eantrag", "eantrag+record", "lxml-tree"]
            if len(document) <= parse_size(args.xmlschema_limit):
                contenders.append("xmlschema")
            for contender in contenders:
                results[contender] = best_of(
                    repeat, lambda c=contender, p=path: run_python(c, p)
                )
            base = results["xmllint"]["seconds"]
            for contender, result in results.items():
                rows.append({
                    "size": label, "bytes": len(document), "contender": contender,
                    "seconds": round(result["seconds"], 4),
                    "mb_per_s": round(mb / result["seconds"], 2),
                    "ratio_vs_xmllint": round(base / result["seconds"], 3),
                    "peak_rss_mib": round(result["peak_rss_kib"] / 1024, 1)
                    if result["peak_rss_kib"] else None,
                    "rss_growth_mib": round(result["rss_growth_kib"] / 1024, 1)
                    if result["rss_growth_kib"] is not None else None,
                })
    print_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "validation",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rows": rows,
    }, indent=2))
    print(f"\nwritten {args.out}", file=sys.stderr)
    return 0


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'size':>6} {'contender':<15} {'seconds':>9} {'MB/s':>8} {'×xmllint':>9} " \
             f"{'peak RSS MiB':>13} {'RSS growth MiB':>15}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['size']:>6} {r['contender']:<15} {r['seconds']:>9.4f} {r['mb_per_s']:>8.2f} "
              f"{r['ratio_vs_xmllint']:>9.3f} {r['peak_rss_mib'] or '—':>13} "
              f"{r['rss_growth_mib'] if r['rss_growth_mib'] is not None else '—':>15}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        raise SystemExit(main(sys.argv[1:]))
