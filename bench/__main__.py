"""``python -m bench [NAME] [ARGS]``: run one benchmark, or all of them in turn."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("expressions", "api", "scheduler", "rules", "csv_io")


def main(argv: list[str]) -> None:
    if argv and argv[0] in BENCHMARKS:
        importlib.import_module(f"bench.{argv[0]}").main(argv[1:])
        return
    if argv and not argv[0].startswith("-"):
        sys.exit(f"unknown benchmark {argv[0]!r}; there are: {', '.join(BENCHMARKS)}")
    for name in BENCHMARKS:
        print(f"== {name} ==")
        importlib.import_module(f"bench.{name}").main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
