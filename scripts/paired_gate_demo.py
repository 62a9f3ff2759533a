"""Is the paired gate right? A/A and A/B runs of ``influxperf gate`` on a scratch clone.

    python scripts/paired_gate_demo.py aa --gates 10 [--pairs N] [--out DIR]
    python scripts/paired_gate_demo.py ab --gates 10 --head-cpus 0.85 [--base-cpus 1.0]
    python scripts/paired_gate_demo.py noise --out DIR    (after aa: what N buys)
    python scripts/paired_gate_demo.py rejudge --out DIR  (this checkout's rule, kept runs)

A/A: ``influxperf gate --base HEAD --head HEAD`` (the same commit on both sides), GATES
times: every failing gate is a false alarm.

A/B: a real, known slowdown. The clone gets two commits: the base names a tier whose
server has BASE_CPUS of CPU (a cgroup quota, what ``docker --cpus`` does), the head one
with HEAD_CPUS (``influx_tier`` in the pytest ini of each commit, the tiers in
``baselines/tiers.json``). The gate runs base and head from their own worktrees, as it
would for any change; every gate that does not fail is a miss.

The clone is made from this checkout's HEAD, so edits in the working tree never leak into
a measurement, and the gate itself runs from the clone's code (``python -m`` from there).
Each gate writes its JSON verdict and keeps its runs under OUT.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ["suites", "--influx-bench", "--influx-provider", "process"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def scratch_clone(out: Path, rev: str = "HEAD") -> Path:
    repo = out / "repo"
    git(out, "clone", "-q", "--no-hardlinks", str(ROOT), str(repo))
    git(repo, "checkout", "-q", git(ROOT, "rev-parse", rev))
    git(repo, "config", "user.email", "demo@influxperf")
    git(repo, "config", "user.name", "paired gate demo")
    return repo


def commit_tier(repo: Path, tier: str, tiers: dict[str, dict[str, float]]) -> str:
    """Commit ``influx_tier = tier`` in the pytest ini and ``tiers`` in tiers.json."""
    path = repo / "baselines" / "tiers.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update(tiers)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    pyproject = repo / "pyproject.toml"
    lines = [line for line in pyproject.read_text().splitlines()
             if not line.startswith("influx_tier =")]
    at = lines.index("[tool.pytest.ini_options]") + 1
    lines.insert(at, f'influx_tier = "{tier}"')
    pyproject.write_text("\n".join(lines) + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"demo: server tier {tier}")
    return git(repo, "rev-parse", "HEAD")


def gate(repo: Path, out: Path, i: int, base: str, head: str, extra: list[str]) -> dict:
    report = out / f"gate-{i:02d}.json"
    command = [sys.executable, "-m", "pytest_influxperf.cli", "gate", "--base", base,
               "--head", head, "--report", str(report), "--keep-runs",
               str(out / f"gate-{i:02d}-runs"), *extra, "--", *SUITE]
    started = time.monotonic()
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=3600,
                          check=False)
    (out / f"gate-{i:02d}.log").write_text(done.stdout + done.stderr)
    wall = time.monotonic() - started
    if done.returncode == 2 or not report.exists():
        return {"rc": done.returncode, "wall": wall, "headline": done.stderr.strip()[-300:]}
    data = json.loads(report.read_text())
    index = data.get("index") or {}
    failing = [f"{m['benchmark'].rsplit('::', 1)[-1]}:{m['metric']} {m['change'] * 100:+.0f}%"
               for m in data["metrics"] if m["status"] == "regression"]
    return {"rc": done.returncode, "wall": wall, "headline": data["headline"],
            "index_change": index.get("change"), "index_p": index.get("p_worse"),
            "index_status": index.get("status"), "regressions": failing,
            "broken": [t["test"] for t in data["tests"] if t["status"] == "broken by head"]}


def load_pairs(runs: Path) -> list:
    sys.path.insert(0, str(ROOT))
    from pytest_influxperf.paired.runs import RunResult, read_metrics, read_outcomes

    pairs = []
    for i in range(1, len(list(runs.glob("run-*-base.json"))) + 1):
        sides = []
        for side in ("base", "head"):
            stem = runs / f"run-{i:02d}-{side}"
            sides.append(RunResult(side, i, read_metrics(stem.with_suffix(".json")),
                                   read_outcomes(stem.with_suffix(".xml")), 0))
        pairs.append(tuple(sides))
    return pairs


def rejudge(out: Path) -> None:
    """Judge every gate's kept runs under OUT again with this checkout's rule."""
    from pytest_influxperf.paired.judge import judge

    failed = 0
    folders = sorted(out.glob("gate-*-runs"))
    for runs in folders:
        verdict = judge(load_pairs(runs))
        failed += verdict.failed
        index = verdict.index
        names = [f"{m.benchmark.rsplit('::', 1)[-1]}:{m.metric} {(m.change or 0) * 100:+.0f}%"
                 for m in verdict.regressions]
        print(f"{runs.name}: exit {verdict.exit_code}; index "
              f"{(index.change or 0) * 100 if index else 0:+.1f}%; {names[:5]}")
    print(f"{failed} of {len(folders)} gates failed")


def pair_index_noise(out: Path) -> list[float]:
    """Per gate under OUT, the per-pair throughput-index log-ratios (worse-signed)."""
    sys.path.insert(0, str(ROOT))
    from pytest_influxperf.paired.judge import pair_indices

    values = []
    for runs in sorted(out.glob("gate-*-runs")):
        loaded = load_pairs(runs)
        pairs = pair_indices([b for b, _ in loaded], [h for _, h in loaded])
        mean = sum(pairs) / len(pairs)
        values.extend(p - mean for p in pairs)  # within-gate: the noise the t-test sees
    return values


def noise(out: Path, threshold: float = 0.05, alpha: float = 0.05) -> None:
    """The pooled within-gate sd of a pair's index, and the change a gate of N pairs
    catches 9 times in 10 (normal approximation: threshold plus t and z margins)."""
    from scipy import stats

    residuals = pair_index_noise(out)
    gates = len(list(out.glob("gate-*-runs")))
    dof = len(residuals) - gates
    sd = (sum(r * r for r in residuals) / dof) ** 0.5
    import math
    import statistics

    changes = [json.loads(p.read_text())["index"]["change"]
               for p in sorted(out.glob("gate-*.json"))]
    pairs = len(residuals) // gates
    spread = statistics.stdev([math.log1p(c) for c in changes])
    # What the pairs of one gate cannot see: a side that is slower for a whole gate.
    extra = math.sqrt(max(0.0, spread ** 2 - sd ** 2 / pairs))
    print(f"pair index sd {sd * 100:.2f}% (pooled within {gates} gates, {dof} dof); the "
          f"gates' index estimates spread {spread * 100:.2f}% (sd over {gates} gates of "
          f"{pairs} pairs), of which {extra * 100:.2f}% is a gate-level effect")
    print("pairs  minutes  smallest change caught 9 in 10 (pairs' noise only / with the "
          "gate-level effect)")
    z = stats.norm.ppf(0.9)
    for n in (3, 4, 5, 6, 8, 10, 15):
        se = sd / n ** 0.5
        total = math.sqrt(se ** 2 + extra ** 2)
        t_margin = stats.t.ppf(1 - alpha, n - 1) * se
        inner = max(threshold + z * se, t_margin + z * se)
        outer = max(threshold + z * total, t_margin + z * total)
        print(f"{n:5d}  {n * 46 / 60:7.1f}  {inner * 100:.1f}% / {outer * 100:.1f}%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("aa", "ab", "noise", "rejudge"))
    parser.add_argument("--gates", type=int, default=10)
    parser.add_argument("--base-cpus", type=float, default=1.0)
    parser.add_argument("--head-cpus", type=float, default=0.85)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--rev", default="HEAD", help="the commit of this checkout to clone")
    parser.add_argument("gate_args", nargs="*", help="more gate options (after --)")
    args = parser.parse_args()
    out = args.out or Path(f"/tmp/influxperf-paired-{args.mode}")
    if args.mode in ("noise", "rejudge"):
        (noise if args.mode == "noise" else rejudge)(out)
        return 0
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    repo = scratch_clone(out, args.rev)
    if args.mode == "aa":
        base = head = git(repo, "rev-parse", "HEAD")
    else:
        tiers = {"gate-ab-base": {"cpus": args.base_cpus}, "gate-ab-head": {"cpus": args.head_cpus}}
        base = commit_tier(repo, "gate-ab-base", tiers)
        head = commit_tier(repo, "gate-ab-head", tiers)
    failed = 0
    results = []
    for i in range(1, args.gates + 1):
        result = gate(repo, out, i, base, head, args.gate_args)
        results.append(result)
        failed += result["rc"] == 1
        index = result.get("index_change")
        print(f"gate {i}: rc={result['rc']} {result['wall']:.0f} s; index "
              f"{'-' if index is None else f'{index * 100:+.1f}%'} "
              f"(p {result.get('index_p') or 0:.3g}, {result.get('index_status')}); "
              f"{len(result.get('regressions', []))} metric regression(s) "
              f"{result.get('regressions', [])[:4]}; {result['headline'][:120]}", flush=True)
    what = "false alarm(s)" if args.mode == "aa" else "detection(s)"
    print(f"{args.mode.upper()}: {failed} {what} in {args.gates} gates"
          + ("" if args.mode == "aa" else f" (base {args.base_cpus} CPU, head {args.head_cpus})"))
    (out / "summary.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
