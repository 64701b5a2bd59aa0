"""Validation throughput and memory: the intake's streaming validator against its alternatives.

    python -m bench validation [--sizes 2k,1m,100m] [--seconds 2] [--repeat 3]

Contenders, each in a fresh process so that its memory peak is its own:
- `xmllint` — `xmllint --noout --stream --schema` (libxml2's own streaming validator), the
  baseline every ratio refers to. Its start-up (schema compilation included) is measured once and
  subtracted; small documents are passed many times to one process.
- `eantrag` — what intake runs on a request body: `XmlStreamValidator` fed 64 KiB chunks
  (schema validation, well-formedness, the record built child by child with the tree dropped,
  inline attachments decoded, hashed and spooled), then the form's business rules. Its process
  keeps freed memory for reuse as every eantrag process does (`eantrag.heap`).
- `eantrag-malloc-defaults` — the same with glibc's allocator defaults, for comparison: then
  every large document has the kernel map and zero fresh pages.
- `lxml-stream` — a bare `XMLPullParser(schema=…)` fed the same chunks, no record: what libxml2
  through lxml costs, for reference.
- `lxml-tree` — parse the whole tree, then `XMLSchema.validate`.

The lxml contenders and xmllint validate with the form's XSD as published; eantrag with its
`validation_xsd`, which checks xs:base64Binary values as strings because intake decodes each one
strictly anyway and checks its length facets on the bytes (libxml2's own Base64 check was nine
tenths of validating the 100 MB document).
- `xmlschema` — the pure-Python validator (its default: the whole tree, then validation).

Time is wall-clock per document, best of `--repeat` runs; CPU time is given too, because the
machine may be shared. Memory is the process's peak (VmHWM) and its growth over the state after
set-up (imports, compiled schema, document generated).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import RESULTS, machine, print_table, write_report

SIZES = {"2k": 2 * 1024, "1m": 1024 * 1024, "100m": 100 * 1024 * 1024}
CHUNK = 64 * 1024
CONTENDERS = [
    "xmllint",
    "eantrag",
    "eantrag-malloc-defaults",
    "lxml-stream",
    "lxml-tree",
    "xmlschema",
]


def parse_size(text: str) -> int:
    text = text.strip().lower()
    if text in SIZES:
        return SIZES[text]
    factor = {"k": 1024, "m": 1024 * 1024}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


# --- inside a child process -------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def child(contender: str, path: str, seconds: float) -> dict[str, Any]:
    """Set up, then validate the document over and over for about `seconds` (at least once)."""
    from lxml import etree

    from bench.generate import WOHNGELD
    from intake.inline import InlineAttachments
    from intake.xmlstream import XmlStreamValidator, finish_xml

    data = Path(path).read_bytes()
    # The form's own XSD, as it is published: libxml2 checks every xs:base64Binary itself here.
    # (eantrag validates with `validation_xsd`, which leaves that check to intake's decoder.)
    schema = etree.XMLSchema(etree.parse(str(WOHNGELD.xsd_path)))

    def eantrag() -> None:
        inline = InlineAttachments()
        validator = XmlStreamValidator(inline=inline)
        for offset in range(0, len(data), CHUNK):
            validator.feed(data[offset : offset + CHUNK])
        finish_xml(validator)
        inline.close()

    def lxml_stream() -> None:
        parser = etree.XMLPullParser(schema=schema, huge_tree=False)
        for offset in range(0, len(data), CHUNK):
            parser.feed(data[offset : offset + CHUNK])
        parser.close()

    def lxml_tree() -> None:
        tree = etree.parse(path, etree.XMLParser(huge_tree=True))
        if not schema.validate(tree):
            raise SystemExit(f"lxml-tree: invalid: {schema.error_log.last_error}")

    run: Any
    if contender == "eantrag":
        # As every eantrag process does at start (`eantrag.heap`, EANTRAG_HEAP_KEEP_BYTES).
        from eantrag import heap
        from eantrag.settings import Settings

        heap.keep_freed_memory(Settings().heap_keep_bytes)
        run = eantrag
    elif contender == "eantrag-malloc-defaults":
        run = eantrag  # diagnosis: the same with glibc's allocator defaults
    elif contender == "lxml-stream":
        run = lxml_stream
    elif contender == "lxml-tree":
        run = lxml_tree
    elif contender == "xmlschema":
        import xmlschema

        xsd = xmlschema.XMLSchema(str(WOHNGELD.xsd_path))

        def run() -> None:
            xsd.validate(path)
    else:
        raise SystemExit(f"unknown contender {contender}")

    base = _status_kib("VmRSS:")
    times: list[float] = []
    cpu_start = time.process_time()
    started = time.perf_counter()
    while not times or time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu_start) / len(times)
    peak = _status_kib("VmHWM:")
    return {
        "seconds": min(times),
        "cpu_seconds": cpu,
        "runs": len(times),
        "peak_rss_kib": peak,
        "rss_growth_kib": max(0, peak - base),
    }


# --- the driver -------------------------------------------------------------------------------


def run_python(contender: str, path: Path, seconds: float) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.validation", "--child", contender, str(path), str(seconds)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{contender} failed: {result.stderr[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _xmllint(paths: list[Path], xsd: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS KiB) of one xmllint process over `paths`."""
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        raise RuntimeError("xmllint not found (Debian: apt-get install libxml2-utils)")
    # xmllint says "<file> validates" for each file: to a file, not a pipe nobody reads yet.
    with tempfile.TemporaryFile() as messages:
        start = time.perf_counter()
        process = subprocess.Popen(
            [xmllint, "--noout", "--stream", "--schema", str(xsd), *map(str, paths)],
            stdout=subprocess.DEVNULL,
            stderr=messages,
        )
        # Not wait4's ru_maxrss: Linux folds the parent's peak at fork/exec into it (this
        # process holds a 100 MB document). The new program's own high-water mark is VmHWM.
        peak_kib = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak_kib = max(peak_kib, _hwm_kib(process.pid))
            time.sleep(0.002)
        elapsed = time.perf_counter() - start
        if status != 0:
            messages.seek(0)
            said = messages.read().decode(errors="replace")
            raise RuntimeError(f"xmllint rejected the document: {said[-1000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, peak_kib


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_xmllint(path: Path, empty: Path, xsd: Path, seconds: float) -> dict[str, Any]:
    startup, startup_cpu, _ = min(_xmllint([empty], xsd) for _ in range(3))
    probe = 10 if path.stat().st_size < 10 * 1024 * 1024 else 1
    sample, _, peak = _xmllint([path] * probe, xsd)
    each = max((sample - startup) / probe, sample / probe / 2, 1e-5)
    copies = max(1, min(2000, int(seconds / each)))
    wall, cpu, peak = _xmllint([path] * copies, xsd)
    return {
        "seconds": max(wall - startup, 1e-6) / copies,
        "cpu_seconds": max(cpu - startup_cpu, 1e-6) / copies,
        "runs": copies,
        "peak_rss_kib": peak,
        "rss_growth_kib": None,
    }


def best_of(repeat: int, run: Any) -> dict[str, Any]:
    runs = [run() for _ in range(repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    best["cpu_seconds"] = min(r["cpu_seconds"] for r in runs)
    return best


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench validation")
    parser.add_argument("--sizes", default="2k,1m,100m")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements; the best counts")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--out", type=Path, default=RESULTS / "validation.json")
    args = parser.parse_args(argv)

    from bench.generate import WOHNGELD, smallest, wohngeld_xml_unchecked

    contenders = [c for c in args.contenders.split(",") if c]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "smallest.xml"
        empty.write_bytes(WOHNGELD.record_to_xml(smallest()))
        for label in args.sizes.split(","):
            document = wohngeld_xml_unchecked(parse_size(label))
            path = Path(tmp) / f"wohngeld-{label}.xml"
            path.write_bytes(document)
            repeat = args.repeat if len(document) < 50 * 1024 * 1024 else 1
            print(f"-- {label}: {len(document):,} bytes, best of {repeat}", file=sys.stderr)
            results: dict[str, dict[str, Any]] = {}
            for contender in contenders:
                print(f"   {contender} …", file=sys.stderr, flush=True)
                if contender == "xmllint":
                    results[contender] = best_of(
                        repeat,
                        lambda p=path: run_xmllint(p, empty, WOHNGELD.xsd_path, args.seconds),
                    )
                else:
                    results[contender] = best_of(
                        repeat, lambda c=contender, p=path: run_python(c, p, args.seconds)
                    )
            base = results.get("xmllint", next(iter(results.values())))
            for contender, result in results.items():
                rows.append(_row(label, len(document), contender, result, base, results))
    print_table(
        rows,
        [
            ("size", "size", "{}"),
            ("contender", "contender", "{}"),
            ("ms/doc", "seconds", "{:.3f}", 1000.0),
            ("MB/s", "mb_per_s", "{:.1f}"),
            ("× xmllint", "ratio_vs_xmllint", "{:.2f}"),
            ("× xmlschema", "ratio_vs_xmlschema", "{:.1f}"),
            ("CPU ms/doc", "cpu_seconds", "{:.3f}", 1000.0),
            ("CPU × xmllint", "cpu_ratio_vs_xmllint", "{:.2f}"),
            ("CPU × xmlschema", "cpu_ratio_vs_xmlschema", "{:.1f}"),
            ("peak RSS MiB", "peak_rss_mib", "{:.1f}"),
            ("RSS growth MiB", "rss_growth_mib", "{:.1f}"),
        ],
    )
    verdicts = targets(rows)
    for line in verdicts:
        print(line)
    write_report(
        args.out,
        {
            "benchmark": "validation",
            "command": "python -m bench validation " + " ".join(argv),
            "machine": machine(),
            "baseline": "xmllint --noout --stream --schema (same run)",
            "rows": rows,
            "targets": verdicts,
        },
    )
    return 0


def _row(
    label: str,
    size: int,
    contender: str,
    result: dict[str, Any],
    base: dict[str, Any],
    results: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    other = results.get("xmlschema")
    return {
        "size": label,
        "bytes": size,
        "contender": contender,
        "seconds": result["seconds"],
        "cpu_seconds": result["cpu_seconds"],
        "runs": result["runs"],
        "mb_per_s": size / 1e6 / result["seconds"],
        # > 1: faster than the baseline
        "ratio_vs_xmllint": base["seconds"] / result["seconds"],
        "ratio_vs_xmlschema": other["seconds"] / result["seconds"] if other else None,
        # the same in CPU time, which a busy machine distorts far less than wall time
        "cpu_ratio_vs_xmllint": base["cpu_seconds"] / result["cpu_seconds"],
        "cpu_ratio_vs_xmlschema": other["cpu_seconds"] / result["cpu_seconds"] if other else None,
        "peak_rss_mib": result["peak_rss_kib"] / 1024 if result["peak_rss_kib"] else None,
        "rss_growth_mib": result["rss_growth_kib"] / 1024
        if result["rss_growth_kib"] is not None
        else None,
    }


def targets(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's targets for the validator, each with its verdict."""
    found = {(r["size"], r["contender"]): r for r in rows}
    lines = []
    for size in ("1m", "100m"):
        mine = found.get((size, "eantrag"))
        if mine is None:
            continue
        for clock, prefix in (("wall", ""), ("CPU", "cpu_")):
            if (size, "xmllint") in found:
                ratio = mine[f"{prefix}ratio_vs_xmllint"]
                what = f"{size}: eantrag ≥ 0.8 × xmllint --stream ({clock} time)"
                lines.append(_verdict(what, ratio >= 0.8, ratio))
            if mine[f"{prefix}ratio_vs_xmlschema"] is not None:
                ratio = mine[f"{prefix}ratio_vs_xmlschema"]
                what = f"{size}: eantrag ≥ 30 × xmlschema ({clock} time)"
                lines.append(_verdict(what, ratio >= 30, ratio))
    large = found.get(("100m", "eantrag"))
    if large is not None and large["rss_growth_mib"] is not None:
        growth = large["rss_growth_mib"]
        lines.append(_verdict("100m: peak RSS growth ≤ 64 MiB", growth <= 64, growth))
    return lines


def _verdict(what: str, met: bool, value: float) -> str:
    return f"target {what}: {'met' if met else 'NOT met'} ({value:.2f})"


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], float(sys.argv[4]))))
    else:
        raise SystemExit(main(sys.argv[1:]))
