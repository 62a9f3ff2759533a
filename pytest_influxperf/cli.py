"""The ``influxperf`` console script: a thin dispatcher over subcommand modules.

Each subcommand lives with its concern and offers ``register(subparsers)`` (adding one
subparser named as in :data:`SUBCOMMANDS`) and ``run(args) -> int``; this module only
wires them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> module that registers it
SUBCOMMANDS = {
    "image": "pytest_influxperf.servers.image",
    "capacity": "pytest_influxperf.capacity",
    "compare": "pytest_influxperf.bench.compare",
    "gate": "pytest_influxperf.paired.command",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="influxperf", description="InfluxDB performance tools (pytest-influxperf).")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    from .errors import InfluxPerfError

    args = build_parser().parse_args(argv)
    try:
        return int(importlib.import_module(SUBCOMMANDS[args.command]).run(args))
    except InfluxPerfError as exc:
        print(f"influxperf: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
