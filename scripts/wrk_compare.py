#!/usr/bin/env python
"""How much does the Writer cost? Compare it with wrk on the same server, same load.

Starts its own ``influxd`` (process provider), builds one fixed body of ``--batch-size``
lines, and alternates (AB, BA, AB...) two ways of POSTing it to ``/write`` for ``--duration``
seconds each:

- A: ``wrk`` (C, epoll) with ``--connections`` connections and a Lua script that POSTs
  the body;
- B: ``Writer.write`` with ``workers=--connections``, pooled connections, the same body
  repeated enough times to last about as long.

Prints both medians (points/s) with their spread and the ratio Writer / wrk. The target
is >= 0.90. Posting the same body again rewrites the same points; both sides do it.

    python scripts/wrk_compare.py --batch-size 5000 --connections 2 --rounds 20
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from pytest_influxperf.harness import Writer
from pytest_influxperf.servers.process import ProcessServer

DATABASE = "wrk_compare"
CLIENT_CPU_MS: dict[str, list[float]] = {"wrk": [], "writer": []}  # client CPU ms per request


class RepeatedBody:
    """A Series stand-in: the same body, ``times`` times (duck-typed like Series)."""

    def __init__(self, body: bytes, points: int, times: int) -> None:
        self.body, self.points, self.times = body, points, times

    def __len__(self) -> int:
        return self.points * self.times

    def batches(self, size: int):  # noqa: ANN201 - an iterator of bytes
        for _ in range(self.times):
            yield self.body


def make_body(batch_size: int, hosts: int = 100) -> bytes:
    """``batch_size`` distinct points (series x timestamp), like a real batch."""
    base = 1_700_000_000_000_000_000
    lines = [f"cpu,host=host{i % hosts},region=eu usage_user={i % 97}.25,usage_system="
             f"{i % 13}.5,count={i}i {base + (i // hosts) * 1_000_000_000}"
             for i in range(batch_size)]
    return ("\n".join(lines) + "\n").encode()


def run_wrk(url: str, body_file: Path, connections: int, duration: int) -> float:
    """Requests per second wrk reached; every answer must have been a 204."""
    script = body_file.with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\n'
        f'local f = io.open("{body_file}", "rb")\n'
        'wrk.body = f:read("*a")\nf:close()\n'
        'wrk.headers["Content-Type"] = "text/plain; charset=utf-8"\n')
    threads = min(connections, 2)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
                          "--timeout", "10s", "-s", str(script), url],
                         capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors, the comparison is void:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    requests_match = re.search(r"(\d+) requests in", out)
    if not match or not requests_match:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CLIENT_CPU_MS["wrk"].append(cpu * 1000 / max(1, int(requests_match.group(1))))
    return float(match.group(1))


def run_writer(server: ProcessServer, body: bytes, points: int, connections: int,
               duration: int, expected_rps: float, processes: bool = False) -> float:
    """Points per second the Writer reached over about ``duration`` seconds."""
    times = max(connections * 4, int(expected_rps * duration * 1.1))
    result = Writer(server, default_database=DATABASE).write(
        RepeatedBody(body, points, times), batch_size=points, workers=connections,
        pooled=True, max_duration=duration, timeout=30, processes=processes)
    if result.points_rejected or result.errors:
        raise SystemExit(f"the Writer saw errors, the comparison is void:\n{result.summary()}")
    # CPU of the sending threads only (preparation and sampling are outside the window).
    CLIENT_CPU_MS["writer"].append(result.client_cpu_s * 1000 / max(1, result.requests))
    return result.points_per_second


def spread(values: list[float]) -> str:
    return f"min {min(values):,.0f}, max {max(values):,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=5000, help="points per request (5000)")
    parser.add_argument("--connections", type=int, default=2, help="connections = workers (2)")
    parser.add_argument("--duration", type=int, default=2, help="seconds per measurement (2)")
    parser.add_argument("--processes", action="store_true",
                        help="Writer workers are processes, not threads")
    parser.add_argument("--rounds", type=int, default=20, help="rounds, AB then BA (20)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    body = make_body(args.batch_size)
    wrk_pps: list[float] = []
    writer_pps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, ProcessServer() as server:
        server.client().create_database(DATABASE)
        body_file = Path(tmp) / "body.lp"
        body_file.write_bytes(body)
        url = f"{server.url}/write?{urlencode({'db': DATABASE, 'precision': 'n'})}"
        print(f"influxd {server.version} at {server.url}; batch {args.batch_size} points "
              f"({len(body):,} bytes), {args.connections} connections, {args.duration}s x "
              f"{args.rounds} rounds, AB/BA alternating"
              f"{', Writer in processes' if args.processes else ''}", flush=True)
        for k in range(args.rounds):
            # AB, BA, AB...: a drift in the machine's load favours neither side.
            if k % 2 == 0:
                rps = run_wrk(url, body_file, args.connections, args.duration)
                pps = run_writer(server, body, args.batch_size, args.connections,
                                 args.duration, rps, args.processes)
            else:
                pps = run_writer(server, body, args.batch_size, args.connections,
                                 args.duration, wrk_pps[-1] / args.batch_size, args.processes)
                rps = run_wrk(url, body_file, args.connections, args.duration)
            wrk_pps.append(rps * args.batch_size)
            writer_pps.append(pps)
            print(f"round {k + 1}: wrk {wrk_pps[-1]:,.0f} points/s, Writer "
                  f"{writer_pps[-1]:,.0f} points/s, ratio {writer_pps[-1] / wrk_pps[-1]:.3f}",
                  flush=True)
    wrk_med, writer_med = statistics.median(wrk_pps), statistics.median(writer_pps)
    ratios = [w / r for w, r in zip(writer_pps, wrk_pps)]
    print(f"wrk    median {wrk_med:,.0f} points/s ({spread(wrk_pps)})")
    print(f"Writer median {writer_med:,.0f} points/s ({spread(writer_pps)})")
    print(f"ratio Writer/wrk (medians) {writer_med / wrk_med:.3f}; per round "
          f"{', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"client CPU per request (median): wrk {statistics.median(CLIENT_CPU_MS['wrk']):.2f} ms, "
          f"Writer {statistics.median(CLIENT_CPU_MS['writer']):.2f} ms")
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    print(f"ratio Writer/wrk, median of per-round ratios {statistics.median(ratios):.3f} "
          f"(interquartile {q1:.3f}..{q3:.3f}, {len(ratios)} rounds)")
    return 0 if writer_med / wrk_med >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
