"""`python -m bench [validation|routing|...] [options]` — run one benchmark, or all of them."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "performance": "bench.performance",
    "validation": "bench.validation",
    "http": "bench.http",
    "pipeline": "bench.pipeline",
    "routing": "bench.bench_routing",
    "archive": "bench.bench_archive",
    "casefile": "bench.bench_casefile",
    "inbox": "bench.bench_inbox",
    "auth": "bench.auth",
    "renderings": "bench.bench_renderings",
}


PARTS = {"validation", "http", "pipeline"}
"""Parts of `performance`: run alone by name, not again when everything runs."""


def main(argv: list[str]) -> int:
    everything = [name for name in BENCHMARKS if name not in PARTS]
    names = [argv[0]] if argv and not argv[0].startswith("-") else everything
    rest = argv[1:] if argv and not argv[0].startswith("-") else argv
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        module = importlib.import_module(BENCHMARKS[name])
        code = module.main(rest)
        if code:
            return int(code)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
