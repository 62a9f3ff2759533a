"""Measure what the plugin costs: pytest start-up with and without it, and server start-to-ready.

    python scripts/measure_startup.py [--rounds 15]

Start-up is timed as the wall time of `pytest --co -q` over a one-test file, alternating
runs with the plugin loaded and with `-p no:influxperf` (ABAB, same machine, same moment),
so the difference is the plugin's own import and option registration. Prints medians and
the spread (min-max).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def time_pytest(folder: Path, extra: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider",
                    *extra, str(folder)], check=True, capture_output=True)
    return time.perf_counter() - began


def plugin_import_ms() -> float:
    """Cumulative import time of the plugin module, after pytest (which users load anyway)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c",
                          "import pytest; import pytest_influxperf.plugin"],
                         check=True, capture_output=True, text=True).stderr
    line = next(x for x in out.splitlines() if x.rstrip().endswith("| pytest_influxperf.plugin"))
    return int(line.split("|")[1]) / 1000


def server_start_times(rounds: int, provider: str) -> list[float]:
    from pytest_influxperf.servers import ServerOptions, open_server

    times = []
    for _ in range(rounds):
        server = open_server(ServerOptions(provider=provider))
        began = time.perf_counter()
        with server:
            times.append(time.perf_counter() - began)
    return times


def describe(values: list[float], unit: float = 1.0, suffix: str = "s") -> str:
    scaled = [v * unit for v in values]
    return (f"median {statistics.median(scaled):.3f} {suffix} "
            f"(min {min(scaled):.3f}, max {max(scaled):.3f}, n={len(scaled)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--providers", default="process,docker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_one.py").write_text("def test_one():\n    pass\n")
        with_plugin, without = [], []
        for _ in range(args.rounds):
            with_plugin.append(time_pytest(folder, []))
            without.append(time_pytest(folder, ["-p", "no:influxperf"]))
    deltas = [a - b for a, b in zip(with_plugin, without)]
    print(f"pytest start-up with plugin:     {describe(with_plugin)}")
    print(f"pytest start-up without plugin:  {describe(without)}")
    print(f"plugin cost (paired difference): {describe(deltas, 1000, 'ms')}")
    imports = [plugin_import_ms() / 1000 for _ in range(args.rounds)]
    print(f"plugin module import (-X importtime): {describe(imports, 1000, 'ms')}")
    for provider in filter(None, args.providers.split(",")):
        try:
            times = server_start_times(max(5, args.rounds // 3), provider)
        except Exception as exc:  # report, do not hide: the figure is simply not available
            print(f"{provider} start-to-ready: unavailable ({str(exc).splitlines()[0]})")
            continue
        print(f"{provider} start-to-ready: {describe(times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
