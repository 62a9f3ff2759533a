"""How fast are series generated? Points per second until every batch is ``bytes``.

Each run uses a fresh seed and an empty cache folder, so nothing is reused: the clock
covers validation, the shape's numbers, rendering and turning every batch into ``bytes``
(the cache entry is written on a background thread, as in the fixture). A second timing
reads the same series back from the cache.

    python scripts/bench_generation.py                 # the default set, 5 runs each
    python scripts/bench_generation.py --shape simple --points 2000000 --runs 7

The targets (issue 3): ``simple`` >= 2,000,000 points/s and ``cpu-only`` >= 500,000 points/s,
against about 300,000 points/s that the server ingests here.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_influxperf.series import SeriesFactory  # noqa: E402

DEFAULT = [("simple", 10, 2_000_000), ("cpu-only", 10, 1_000_000), ("cpu-only", 100, 1_000_000),
           ("devops", 10, 450_000), ("iot", 100, 500_000)]
TARGETS = {"simple": 2_000_000, "cpu-only": 500_000}


def run_once(shape: str, hosts: int, points: int, batch: int, *, cache: bool) -> dict[str, float]:
    """Generate once with a fresh seed; optionally read it back from the cache."""
    seed = random.SystemRandom().randrange(2**62)
    with tempfile.TemporaryDirectory(prefix="influxperf-bench-") as tmp:
        factory = SeriesFactory(Path(tmp) if cache else None)
        t0, c0 = time.perf_counter(), time.process_time()
        series = factory(shape, hosts=hosts, points=points, seed=seed)
        nbytes = sum(len(b) for b in series.batches(batch))
        cold, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert len(series) == points and nbytes == series.nbytes
        # CPU seconds of this process (all its threads) as well: the machine is shared,
        # and wall time includes waiting for a core.
        out = {"cold_s": cold, "cold_pps": points / cold, "cold_cpu_pps": points / cpu,
               "bytes_per_point": nbytes / points}
        if cache:
            factory.flush()  # the entry is written in the background; a hit needs it complete
            t0 = time.perf_counter()
            again = factory(shape, hosts=hosts, points=points, seed=seed)
            sum(len(b) for b in again.batches(batch))
            hot = time.perf_counter() - t0
            assert again.cache_status == "hit"
            out.update(hit_s=hot, hit_pps=points / hot)
    return out


def summarize(values: list[float]) -> str:
    """Median with min..max, as an integer rate."""
    return f"{statistics.median(values):>12,.0f}  ({min(values):,.0f} .. {max(values):,.0f})"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (and JSON with ``--json``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", help="one shape only (default: the standard set)")
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--no-cache", action="store_true", help="time without writing a cache entry")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cases = [(args.shape, args.hosts, args.points)] if args.shape else DEFAULT
    results = []
    for shape, hosts, points in cases:
        runs = [run_once(shape, hosts, points, args.batch, cache=not args.no_cache) for _ in range(args.runs)]
        cold = [r["cold_pps"] for r in runs]
        bpp = runs[0]["bytes_per_point"]
        line = (f"{shape:9} hosts={hosts:<4} points={points:>10,} ({bpp:.0f} B/pt)  cold pts/s {summarize(cold)}"
                f"  per CPU-s {statistics.median(r['cold_cpu_pps'] for r in runs):,.0f}")
        if not args.no_cache:
            line += f"   cache hit pts/s {summarize([r['hit_pps'] for r in runs])}"
        target = TARGETS.get(shape)
        if target:
            line += f"   target {target:,}: {'met' if statistics.median(cold) >= target else 'MISSED'}"
        print(line, flush=True)
        results.append({"shape": shape, "hosts": hosts, "points": points, "runs": runs})
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
