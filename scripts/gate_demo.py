"""Is the gate right when it fails? A/A and A/B runs of the suite against the stored gate.

    python scripts/gate_demo.py aa --saves 3 --runs 10 [--out DIR] [-- pytest args]
    python scripts/gate_demo.py ab --saves 3 --pairs 5 [--cpus 1.0] [--out DIR]

A/A: the same build measured again and again. The baseline is saved SAVES times (the gate
takes its run-to-run noise from them), then RUNS compare runs in fail mode; every failing
run is a false alarm.

A/B: one influxd whose CPU is capped by a cgroup quota (what ``docker --cpus`` does):
CPUS for A, half of it for B. The suite reaches it through the url provider, so the
plugin sees the same environment in A and B and only the server's CPU differs. SAVES
baseline runs on A, then PAIRS times B followed by A: every B should fail the gate on
throughput, every A should pass.

Each run writes a JSON report; the summary counts failing runs and which metrics failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pytest_cmd(out: Path, tier: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
            "--influx-bench", "--influx-scale", "smoke", "--influx-tier", tier,
            "--influx-baselines", str(out / "baselines"), *extra]


def run(cmd: list[str], log: Path) -> int:
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    log.write_text(done.stdout + done.stderr)
    return done.returncode


def summarize(report: Path) -> str:
    """One line: did the gate fail, and which metrics regressed (throughput marked)."""
    data = json.loads(report.read_text())
    regressed, throughput = [], 0
    for nodeid, bench in data["benchmarks"].items():
        for comp in bench["comparisons"]:
            if comp["status"] == "regression":
                is_tp = comp["unit"].endswith("/s") and comp["direction"] == "higher"
                throughput += is_tp
                regressed.append(f"{nodeid.rsplit('::', 1)[-1]}:{comp['name']} "
                                 f"{comp['change'] * 100:+.0f}% "
                                 f"(tol {comp['tolerance'] * 100:.0f}%)"
                                 + (" [throughput]" if is_tp else ""))
    run = data.get("run") or {}
    if run.get("kind") == "regression":
        regressed.insert(0, f"run: {run['message']} [throughput]")
    failed = run.get("kind") == "regression" or any(
        b["outcome"]["kind"] == "regression" for b in data["benchmarks"].values())
    index = (f"throughput index {run['change'] * 100:+.0f}% (tol {run['tolerance'] * 100:.0f}%)"
             if run else "no throughput index")
    head = (f"gate {'FAIL' if failed else 'pass'}; {index}; {len(regressed)} confirmed "
            f"regression(s), {throughput} on a throughput metric; outcomes {data['summary']}")
    return "\n".join([head, *(f"      {r}" for r in regressed[:8])])


def aa(args: argparse.Namespace) -> int:
    out, common = args.out, ["--influx-provider", "process", *args.pytest]
    for i in range(1, args.saves + 1):
        rc = run(pytest_cmd(out, "gate-aa", [*common, "--influx-save-baseline"]),
                 out / f"save-{i}.log")
        print(f"save {i}: rc={rc}", flush=True)
    failures = 0
    for i in range(1, args.runs + 1):
        report = out / f"run-{i}.json"
        rc = run(pytest_cmd(out, "gate-aa", [*common, "--influx-compare", "fail",
                                             "--influx-report", str(report)]),
                 out / f"run-{i}.log")
        line = summarize(report)
        failures += line.startswith("gate FAIL")
        print(f"A/A run {i}: rc={rc} {line}", flush=True)
    print(f"A/A: {failures} false alarm(s) in {args.runs} runs")
    return 0


def ab(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    from pytest_influxperf.servers import ResourceLimits
    from pytest_influxperf.servers.process import ProcessServer

    out = args.out

    def one(cpus: float, extra: list[str], log: Path) -> tuple[int, str]:
        with ProcessServer(limits=ResourceLimits(cpus=cpus)) as server:
            rc = run(pytest_cmd(out, "gate-ab", ["--influx-provider", "url", "--influx-url",
                                                 server.url, *extra, *args.pytest]), log)
            return rc, ", ".join(server.limits_applied)

    for i in range(1, args.saves + 1):
        rc, applied = one(args.cpus, ["--influx-save-baseline"], out / f"save-{i}.log")
        print(f"A save {i}: {applied} rc={rc}", flush=True)
    detected = false_alarms = 0
    for i in range(1, args.pairs + 1):
        for label, cpus in (("B", args.cpus / 2), ("A", args.cpus)):
            report = out / f"{label.lower()}run-{i}.json"
            rc, applied = one(cpus, ["--influx-compare", "fail", "--influx-report", str(report)],
                              out / f"{label.lower()}run-{i}.log")
            line = summarize(report)
            if label == "B":
                detected += line.startswith("gate FAIL") and "[throughput]" in line
            else:
                false_alarms += line.startswith("gate FAIL")
            print(f"{label} run {i}: {applied} rc={rc} {line}", flush=True)
    print(f"A/B: B failed the gate on throughput in {detected} of {args.pairs} runs; "
          f"interleaved A failed in {false_alarms} of {args.pairs}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    for name in ("aa", "ab"):
        p = sub.add_parser(name)
        p.add_argument("--saves", type=int, default=3)
        p.add_argument("--out", type=Path, default=Path(f"/tmp/influxperf-gate-{name}"))
        p.add_argument("pytest", nargs="*", help="extra pytest arguments (after --)")
        if name == "aa":
            p.add_argument("--runs", type=int, default=10)
        else:
            p.add_argument("--pairs", type=int, default=5)
            p.add_argument("--cpus", type=float, default=1.0)
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    return aa(args) if args.mode == "aa" else ab(args)


if __name__ == "__main__":
    sys.exit(main())
