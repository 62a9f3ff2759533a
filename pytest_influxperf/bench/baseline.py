"""Baselines: one human-diffable JSON file per tier, ``<baselines>/<tier>/baseline.json``.

The file is written with sorted keys and two-space indents, numbers rounded to six
significant digits, so that a re-saved baseline shows in ``git diff`` as the figures that
moved and nothing else. It never holds a token or a secret: the environment is scrubbed of
any key that could carry one.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .records import BenchDataError, BenchmarkRecord
from .stats import median
from .tiers import check_tier_name, scrub

FORMAT = "pytest-influxperf baseline 1"
FILENAME = "baseline.json"
#: Runs of one build a baseline keeps per metric (the oldest drop out).
MAX_RUNS = 10

#: A difference in one of these makes the baseline's figures not comparable: the gate
#: warns (environment mismatch) instead of judging. The plugin version and git commit are
#: left out on purpose: they are the change being gated.
MATCH_FIELDS = ("provider", "api", "server_version", "image", "cpu_model", "cpu_count",
                "memory_gib", "limits_cpus", "limits_memory_bytes", "scale", "seed")


@dataclasses.dataclass
class Baseline:
    """A tier's stored results: its environment and one record per benchmark node id."""

    tier: str
    environment: dict[str, Any]
    benchmarks: dict[str, BenchmarkRecord]
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "tier": self.tier,
                "environment": {k: self.environment[k] for k in sorted(scrub(self.environment))},
                "benchmarks": {k: self.benchmarks[k].to_dict() for k in sorted(self.benchmarks)}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: Path | None = None) -> Baseline:
        where = str(path) if path else "baseline"
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise BenchDataError(f"{where} is not a pytest-influxperf baseline (expected "
                                 f"format {FORMAT!r}); re-save it with --influx-save-baseline")
        benchmarks = data.get("benchmarks") or {}
        if not isinstance(benchmarks, Mapping):
            raise BenchDataError(f"{where}: 'benchmarks' must be an object keyed by node id")
        return cls(tier=str(data.get("tier")), environment=dict(data.get("environment") or {}),
                   benchmarks={k: BenchmarkRecord.from_dict(k, v) for k, v in benchmarks.items()},
                   path=path)


def baseline_path(baselines_dir: Path, tier: str) -> Path:
    """Where the baseline of ``tier`` lives."""
    return Path(baselines_dir) / check_tier_name(tier) / FILENAME


def load_baseline(baselines_dir: Path, tier: str) -> Baseline | None:
    """The tier's baseline, or None when none was saved; a broken file is a clear error."""
    path = baseline_path(baselines_dir, tier)
    if not path.exists():
        return None
    return read_baseline_file(path)


def read_baseline_file(path: Path) -> Baseline:
    """Read one ``baseline.json``; raise :class:`BenchDataError` saying what is wrong."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise BenchDataError(f"cannot read baseline {path}: {exc}; fix the file or re-save "
                             "it with --influx-save-baseline") from None
    return Baseline.from_dict(data, path=Path(path))


def environment_differences(baseline_env: Mapping[str, Any],
                            current_env: Mapping[str, Any]) -> list[str]:
    """Readable differences in the fields that make figures comparable (empty: they match).

    A field only one side recorded is not a difference: older baselines may lack it.
    """
    out = []
    for key in MATCH_FIELDS:
        if key in baseline_env and key in current_env and baseline_env[key] != current_env[key]:
            out.append(f"{key.replace('_', ' ')}: baseline {baseline_env[key]!r}, "
                       f"now {current_env[key]!r}")
    return out


def _same_build(old_env: Mapping[str, Any], env: Mapping[str, Any]) -> bool:
    commit = env.get("git_commit")
    return bool(commit) and old_env.get("git_commit") == commit


def _accumulate(record: BenchmarkRecord, previous: BenchmarkRecord | None) -> int:
    """Fold the runs saved before for the same build into ``record``; return the run count.

    Each metric keeps the last :data:`MAX_RUNS` run values; its value becomes their median,
    and their spread tells the gate how much the machine moves from run to run.
    """
    count = 1
    for name, metric in record.metrics.items():
        before = previous.metrics.get(name) if previous else None
        if before is None or before.direction != metric.direction:
            continue
        metric.runs = ((before.runs or [before.value]) + [metric.value])[-MAX_RUNS:]
        metric.value = median(metric.runs)
        count = max(count, len(metric.runs))
    return count


def save_baseline(baselines_dir: Path, tier: str, environment: Mapping[str, Any],
                  records: Iterable[BenchmarkRecord]) -> tuple[Path, str]:
    """Store ``records`` as the tier's baseline; return the path and a one-line summary.

    Benchmarks this run did not measure are kept when the stored environment matches (a
    ``-k`` run refreshes only what it ran); under a different environment they are dropped,
    because figures from two environments must not mix in one baseline. Saving again from
    the same git commit adds a run instead of replacing it (see :func:`_accumulate`): save
    two or three times so that the baseline shows its run-to-run noise.
    """
    path = baseline_path(baselines_dir, tier)
    records = list(records)
    # Copies: accumulating runs must not change the figures this run reports.
    fresh = {r.nodeid: copy.deepcopy(r) for r in records if r.metrics and not r.errors}
    broken = sum(bool(r.errors) for r in records)
    kept: dict[str, BenchmarkRecord] = {}
    note = ""
    if path.exists():
        try:
            old = read_baseline_file(path)
        except BenchDataError:
            old = None
            note = " (the old file was unreadable and is replaced)"
        if old is not None:
            if environment_differences(old.environment, environment):
                note = f" (dropped {len(old.benchmarks)} entries from a different environment)"
            else:
                kept = {k: v for k, v in old.benchmarks.items() if k not in fresh}
                if _same_build(old.environment, environment):
                    runs = max([_accumulate(rec, old.benchmarks.get(k))
                                for k, rec in fresh.items()], default=0)
                    if runs > 1:
                        note = (f" (run {runs} of build {str(environment['git_commit'])[:10]}: "
                                "values are the median of the saved runs)")
    baseline = Baseline(tier=tier, environment=dict(environment), benchmarks={**kept, **fresh})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(baseline.to_dict(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)  # a run interrupted mid-write leaves the old baseline whole
    summary = (f"saved {len(fresh)} benchmark(s) to {path}"
               + (f", kept {len(kept)} from the previous baseline" if kept else "")
               + (f", left out {broken} with infrastructure errors" if broken else "") + note)
    return path, summary
