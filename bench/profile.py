"""Summaries of py-spy's raw output (`py-spy record -f raw`): where a process spends its time.

Each line of the raw format is a `;`-separated stack (outermost first) and a sample count. The
summary gives the functions with the most samples on top of the stack (self) and anywhere in it
(inclusive), so that a benchmark report names its hot path without a flame graph viewer.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any


def _frame(raw: str) -> str:
    # "function (path/to/module.py:123)" → "function (module.py)"
    name, _, where = raw.partition(" (")
    module = where.rsplit(":", 1)[0].rsplit("/", 1)[-1].rstrip(")")
    return f"{name} ({module})" if module else name


def summarize(raw: str, out: Path | None = None, top: int = 25) -> list[dict[str, Any]]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return []
    rows = [
        {
            "function": name,
            "self_pct": 100 * own[name] / total,
            "total_pct": 100 * inclusive[name] / total,
        }
        for name, _ in inclusive.most_common()
        if own[name] or inclusive[name] / total > 0.02
    ]
    by_self = sorted(rows, key=lambda r: -r["self_pct"])[:top]
    by_total = sorted(rows, key=lambda r: -r["total_pct"])[: top * 2]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{total} samples", "", "self %  total %  function"]
        lines += [f"{r['self_pct']:6.1f}  {r['total_pct']:7.1f}  {r['function']}" for r in by_self]
        lines += ["", "by inclusive time:"]
        lines += [f"{r['self_pct']:6.1f}  {r['total_pct']:7.1f}  {r['function']}" for r in by_total]
        out.write_text("\n".join(lines) + "\n")
    return by_self


class Recorder:
    """py-spy sampling one process for a fixed time (`py-spy record -f raw`), then summarized."""

    def __init__(
        self, pid: int, seconds: float, raw: Path, rate: int = 100, *, gil: bool = False
    ) -> None:
        """`gil`: sample only the thread holding the GIL — where a CPU-bound process spends it."""
        import shutil
        import subprocess
        import sys

        self.raw = raw
        self.proc: subprocess.Popen[bytes] | None = None
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            print("py-spy not installed; no profile", file=sys.stderr)
            return
        self.proc = subprocess.Popen(
            [
                *(spy, "record", "-p", str(pid), "-f", "raw", "-o", str(raw)),
                *("-r", str(rate), "-d", str(int(seconds)), "--nonblocking"),
                *(["--gil"] if gil else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def finish(self, out: Path | None, timeout: float) -> list[dict[str, Any]] | None:
        if self.proc is None:
            return None
        self.proc.wait(timeout=timeout)
        if not self.raw.exists():
            return None
        if out is not None:  # the raw stacks beside the summary, for a closer look or a flame graph
            out.parent.mkdir(parents=True, exist_ok=True)
            out.with_suffix(".raw").write_bytes(self.raw.read_bytes())
        return summarize(self.raw.read_text(), out)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0.0 where unreadable."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds_of(names: tuple[str, ...]) -> float:
    """User + system CPU time so far of every process whose command name is one of `names`
    (e.g. the database server's backends); processes that ended are not counted."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        if name in names:
            total += cpu_seconds(int(stat.parent.name))
    return total


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, summed over its CPUs."""
    import os

    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8]) / os.sysconf("SC_CLK_TCK")
    idle = (fields[3] + fields[4]) / os.sysconf("SC_CLK_TCK")
    return total - idle, total
