"""PDF/A renderings per second: a Wohngeld application with six household members.

    python -m bench renderings [--seconds 10]

Each rendering is what the `renderer` worker does per filed application apart from the database:
the readable view from the record, then the PDF/A-2b document (fonts embedded and subset, the
sRGB output intent, XMP). The baseline in the same run is the HTML rendering of the same view
(what filing itself makes), so the ratio says what PDF/A costs over it. One process, one thread:
the worker renders in a thread of its own, one document at a time per process.
"""

from __future__ import annotations

import argparse
import copy
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import example
from bench.report import RESULTS, machine, print_table, write_report
from casefile.readable import ReadableApplication
from casefile.rendering import readable_application, render_html
from casefile.renderings import render_pdf


def household_of_six() -> dict[str, Any]:
    record = example()
    members = record["haushaltsmitglied"]
    for number in range(len(members), 6):
        member = copy.deepcopy(members[-1])
        member["vorname"] = f"Kind{number}"
        member["geburtsdatum"] = f"20{10 + number}-0{number}-1{number}"
        members.append(member)
    return record


def view() -> ReadableApplication:
    return readable_application(
        record=household_of_six(),
        form_id="wohngeld-mietzuschuss",
        leika_urn="urn:de:fim:leika:leistung:99107023037000",
        application_id=str(uuid.uuid4()),
        received_at=datetime.now(UTC),
        authority_name="Stadt Leipzig, Sozialamt",
        original_media_type="application/xml",
        original_size=5678,
        original_sha256="0" * 64,
        attachments=[],
        file_reference="50.21-2026-1234",
    )


def measure(name: str, render: Callable[[], bytes], seconds: float) -> dict[str, Any]:
    render()  # warm: imports, font files in the page cache
    count, size = 0, 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        size = len(render())
        count += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "contender": name,
        "count": count,
        "per_second": count / wall,
        "cpu_ms_each": cpu / count * 1000,
        "bytes": size,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench renderings")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS / "renderings.json")
    args = parser.parse_args(argv)
    shown = view()
    members = sum(1 for s in shown.sections if s.title.startswith("Haushaltsmitglied"))
    assert members == 6, members
    now = datetime.now(UTC)
    html = measure("HTML (baseline)", lambda: render_html(shown), args.seconds)
    pdfa = measure("PDF/A-2b", lambda: render_pdf(shown, "Stadt Leipzig", now), args.seconds)
    for row in (html, pdfa):
        row["x_baseline"] = row["per_second"] / html["per_second"]
    rows = [html, pdfa]
    print_table(
        rows,
        [
            ("contender", "contender", "{}"),
            ("renderings/s", "per_second", "{:.1f}"),
            ("CPU ms each", "cpu_ms_each", "{:.1f}"),
            ("× HTML", "x_baseline", "{:.3f}"),
            ("bytes", "bytes", "{}"),
            ("count", "count", "{}"),
        ],
    )
    write_report(
        args.out,
        {
            "benchmark": "renderings",
            "command": "python -m bench renderings " + " ".join(argv),
            "machine": machine(),
            "baseline": "the HTML rendering of the same readable view, in the same run",
            "document": "Wohngeld – Mietzuschuss, six household members",
            "rows": rows,
        },
    )
    return 0
