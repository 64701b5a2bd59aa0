"""`python -m bench [validation|routing|...] [options]` — run one benchmark, or all of them."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "validation": "bench.validation",
    "routing": "bench.bench_routing",
}


def main(argv: list[str]) -> int:
    names = [argv[0]] if argv and not argv[0].startswith("-") else list(BENCHMARKS)
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
