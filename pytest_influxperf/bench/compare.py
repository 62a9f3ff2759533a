"""``influxperf compare A B ...``: baselines or reports side by side, outside pytest.

The first argument is the reference. Each further set is judged against it with the same
gate as in pytest only when both belong to the same tier and environment; sets from other
tiers are shown side by side and never judged, because a slower tier is not a regression.

Each argument may be a tier folder (``baselines/ci``), a ``baseline.json``, a JSON report
written by ``--influx-report``, or a baselines root (every tier folder under it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from .baseline import FILENAME, Baseline, environment_differences
from .baseline import FORMAT as BASELINE_FORMAT
from .gate import REGRESSION, compare_records, format_percent, format_value, pooled_noise
from .records import BenchDataError, BenchmarkRecord, one_line, show
from .report import FORMAT as REPORT_FORMAT
from .report import short_name


@dataclasses.dataclass
class ResultSet:
    """A loaded baseline or report: where it came from, its tier, environment and records."""

    label: str
    tier: str
    environment: dict[str, Any]
    benchmarks: dict[str, BenchmarkRecord]


def _load_file(path: Path) -> ResultSet:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
        raise BenchDataError(f"cannot read {path}: {one_line(exc)}") from None
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt == BASELINE_FORMAT:
        baseline = Baseline.from_dict(data, path=path)
        return ResultSet(str(path), baseline.tier, baseline.environment, baseline.benchmarks)
    if fmt == REPORT_FORMAT:
        try:
            return _report_set(path, data)
        except BenchDataError as exc:
            raise BenchDataError(f"{path}: {exc}; write the report again with "
                                 "--influx-report") from None
    raise BenchDataError(f"{path} is neither a pytest-influxperf baseline nor a JSON report "
                         "(write one with --influx-report results.json)")


def _report_set(path: Path, data: Mapping[str, Any]) -> ResultSet:
    """A JSON report as a result set, validated like a baseline (see ``Baseline.from_dict``).

    Two differences: a benchmark may have no metrics (it recorded only claims), and one
    that had infrastructure errors is left out, because its figures (a 0 points/s from a
    dead server) are no measurement to compare.
    """
    tier, environment = data.get("tier"), data.get("environment")
    benchmarks = data.get("benchmarks")
    if not isinstance(tier, str):
        raise BenchDataError(f"field 'tier' must be a string, not {show(tier)}")
    if not isinstance(environment, Mapping):
        raise BenchDataError(f"field 'environment' must be an object, not {show(environment)}")
    if not isinstance(benchmarks, Mapping) or not benchmarks:
        raise BenchDataError(f"field 'benchmarks' must be a non-empty object keyed by node id, "
                             f"not {show(benchmarks)}")
    records = {}
    for nodeid, entry in benchmarks.items():
        errors = entry.get("errors") if isinstance(entry, Mapping) else None
        if errors:
            continue
        records[nodeid] = BenchmarkRecord.from_dict(nodeid, entry, require_metrics=False)
    if not records:  # compared, it would show nothing and pass
        raise BenchDataError("every benchmark in it had infrastructure errors: no figure to "
                             "compare")
    return ResultSet(str(path), tier, dict(environment), records)


def load_sets(path: Path) -> list[ResultSet]:
    """The result sets a command-line argument names (a root folder gives one per tier)."""
    path = Path(path)
    if path.is_file():
        return [_load_file(path)]
    if (path / FILENAME).is_file():
        return [_load_file(path / FILENAME)]
    if path.is_dir():
        tiers = sorted(p for p in path.glob(f"*/{FILENAME}"))
        if tiers:
            return [_load_file(p) for p in tiers]
        raise BenchDataError(f"{path} holds no {FILENAME} (nor tier folders with one)")
    raise BenchDataError(f"{path} does not exist: give a tier folder, a baseline.json or a "
                         "JSON report")


def comparable(reference: ResultSet, other: ResultSet) -> list[str]:
    """Why two sets must not be judged against each other (empty: same tier and setup)."""
    reasons = []
    if reference.tier != other.tier:
        reasons.append(f"tier {reference.tier} vs {other.tier}")
    reasons += environment_differences(reference.environment, other.environment)
    return reasons


def compare_sets(sets: Sequence[ResultSet], tolerance: float, out: TextIO) -> int:
    """Print the side-by-side table; return the number of judged regressions."""
    reference, others = sets[0], list(sets[1:])
    judged = {id(o): not comparable(reference, o) for o in others}
    for i, s in enumerate(sets):
        role = "reference" if i == 0 else (
            "judged against the reference" if judged[id(s)] else
            "side by side, not judged (" + "; ".join(comparable(reference, s)) + ")")
        out.write(f"[{chr(65 + i) if i < 26 else i}] {s.label}: tier {s.tier}, "
                  f"{s.environment.get('api', '?')} {s.environment.get('server_version', '?')}"
                  f" - {role}\n")
    header = ["benchmark", "metric"] + [chr(65 + i) if i < 26 else str(i)
                                        for i in range(len(sets))]
    table = [header]
    regressions = []
    pooled = pooled_noise(reference.benchmarks.values())
    nodeids = sorted(set().union(*(s.benchmarks for s in sets)))
    for nodeid in nodeids:
        ref = reference.benchmarks.get(nodeid)
        verdicts: dict[int, dict[str, Any]] = {}
        for o in others:
            rec = o.benchmarks.get(nodeid)
            if judged[id(o)] and ref is not None and rec is not None:
                verdicts[id(o)] = {c.name: c for c in compare_records(rec, ref, tolerance,
                                                                      pooled)}
        names = sorted(set().union(*(s.benchmarks[nodeid].metrics for s in sets
                                     if nodeid in s.benchmarks)))
        for name in names:
            row = [short_name(nodeid), name]
            for s in sets:
                metric = s.benchmarks.get(nodeid, BenchmarkRecord(nodeid, nodeid)).metrics.get(name)
                cell = format_value(metric.value) if metric else "-"
                base = ref.metrics.get(name) if ref else None
                if s is not reference and metric and base and base.value:
                    cell += f" ({format_percent(metric.value / base.value - 1, signed=True)}"
                    verdict = verdicts.get(id(s), {}).get(name)
                    if verdict is not None and verdict.status != "pass":
                        cell += f", {verdict.status}"
                        if verdict.status == REGRESSION:
                            regressions.append(f"{nodeid}: {verdict.sentence(s.tier)}")
                    cell += ")"
                row.append(cell)
            table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    for line in regressions:
        out.write(f"REGRESSION {line}\n")
    return len(regressions)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``compare`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "compare", help="compare baselines or reports (tiers side by side)",
        description=__doc__.split("\n\n")[1] if __doc__ else None)
    parser.add_argument("sets", nargs="+", type=Path, metavar="PATH",
                        help="tier folder, baseline.json or JSON report; the first is the "
                             "reference")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit 1 when a set of the reference's tier regressed (default: "
                             "only print)")
    parser.add_argument("--tolerance", type=_fraction, default=0.10, metavar="FRACTION",
                        help="tolerance floor, e.g. 0.10 for 10%% (default 0.10); noisy "
                             "baselines get more")
    parser.set_defaults(func=run)
    return parser


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number such as 0.10") from None
    if not 0 <= value < 10:
        raise argparse.ArgumentTypeError(f"{text!r}: give a fraction such as 0.10 for 10%")
    return value


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``compare``: 0 fine, 1 regression (with --fail-on-regression), 2 bad input."""
    out = out or sys.stdout
    try:
        sets = [s for path in args.sets for s in load_sets(path)]
    except BenchDataError as exc:  # its message names the file, the benchmark and the field
        sys.stderr.write(f"influxperf: compare: {exc}\n")
        return 2
    if len(sets) < 2:
        sys.stderr.write("influxperf: compare: give at least two baselines or reports\n")
        return 2
    regressions = compare_sets(sets, args.tolerance, out)
    return 1 if regressions and args.fail_on_regression else 0
