"""Baselines: one human-diffable JSON file per tier, ``<baselines>/<tier>/baseline.json``.

The file is written with sorted keys and two-space indents, numbers rounded to six
significant digits, so that a re-saved baseline shows in ``git diff`` as the figures that
moved and nothing else. It never holds a token or a secret: the environment is scrubbed of
any key that could carry one.

A save is a read-merge-write under an advisory lock (``baseline.json.lock`` beside the
file), written through a temporary file of its own and ``os.replace``: two runs that
finish together both land, and a reader sees the old file or the new one, never half of
one. A file the save cannot read is copied to ``baseline.json.bak-<UTC time>`` first.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: saves stay atomic, but concurrent saves are not merged
    fcntl = None  # type: ignore[assignment]

from ..files import write_text_atomic
from .records import RESAVE, BenchDataError, BenchmarkRecord, one_line, show
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


class BaselineSaveError(BenchDataError):
    """A baseline that could not be written; the message names the path and what to do."""


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
    def from_dict(cls, data: object, *, path: Path | None = None) -> Baseline:
        """A stored baseline, validated against :data:`FORMAT`'s schema.

        Any fault is one :class:`BenchDataError` that names the file, the benchmark and
        the field, and says what to do: a damaged baseline must stop the gate with one
        line, never crash it with a traceback or let it pass on what it could read.
        """
        try:
            return cls._from_stored(data, path)
        except BenchDataError as exc:
            raise BenchDataError(f"{path or 'baseline'}: {exc}; {RESAVE}") from None

    @classmethod
    def _from_stored(cls, data: object, path: Path | None) -> Baseline:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else None
            raise BenchDataError(f"not a pytest-influxperf baseline (expected format "
                                 f"{FORMAT!r}, found {show(found)})")
        for key in ("tier", "environment", "benchmarks"):
            if key not in data:
                raise BenchDataError(f"has no {key!r} field")
        tier, environment, benchmarks = data["tier"], data["environment"], data["benchmarks"]
        if not isinstance(tier, str):
            raise BenchDataError(f"field 'tier' must be a string, not {show(tier)}")
        if not isinstance(environment, Mapping):
            raise BenchDataError(f"field 'environment' must be an object, not "
                                 f"{show(environment)}")
        if not isinstance(benchmarks, Mapping):
            raise BenchDataError(f"field 'benchmarks' must be an object keyed by node id, "
                                 f"not {show(benchmarks)}")
        if not benchmarks:
            # A save never writes an empty baseline: an empty one would judge nothing.
            raise BenchDataError("field 'benchmarks' is empty")
        return cls(tier=tier, environment=dict(environment),
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
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
        raise BenchDataError(f"cannot read baseline {path}: {one_line(exc)}; fix the file "
                             f"or {RESAVE}") from None
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

    Raises :class:`BaselineSaveError` when the file cannot be written; the old baseline is
    then untouched and no temporary file is left behind.
    """
    path = baseline_path(baselines_dir, tier)
    records = list(records)
    # Copies: accumulating runs must not change the figures this run reports.
    fresh = {r.nodeid: copy.deepcopy(r) for r in records
             if r.metrics and not r.errors and _storable(r)}
    broken = sum(bool(r.errors) for r in records)
    # A zero or negative figure would make the saved file one its reader refuses.
    unstorable = sum(bool(r.metrics) and not r.errors and not _storable(r) for r in records)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The lock spans the read too: a save that read before another one wrote would
        # write back a merge that lacks the other run.
        with _locked(path):
            kept, note = _merge_previous(path, environment, fresh)
            if not kept and not fresh:  # an empty baseline would judge nothing
                return path, (f"nothing saved to {path}: no benchmark recorded a usable figure"
                              + _left_out(broken, unstorable))
            baseline = Baseline(tier=tier, environment=dict(environment),
                                benchmarks={**kept, **fresh})
            write_text_atomic(path, json.dumps(baseline.to_dict(), indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise BaselineSaveError(
            f"could not save the baseline of tier {tier} to {path}: {_reason(exc)}; point "
            "--influx-baselines at a folder you can write to (or free space) and save again"
        ) from None
    summary = (f"saved {len(fresh)} benchmark(s) to {path}"
               + (f", kept {len(kept)} from the previous baseline" if kept else "")
               + _left_out(broken, unstorable) + note)
    return path, summary


def _storable(record: BenchmarkRecord) -> bool:
    """Whether every figure of ``record`` passes the reader's check (finite and > 0)."""
    return all(v > 0 and math.isfinite(v) for m in record.metrics.values()
               for v in [m.value, *m.rounds, *m.runs])


def _left_out(broken: int, unstorable: int) -> str:
    return ((f", left out {broken} with infrastructure errors" if broken else "")
            + (f", left out {unstorable} with a zero or negative figure" if unstorable else ""))


def _merge_previous(path: Path, environment: Mapping[str, Any],
                    fresh: dict[str, BenchmarkRecord]) -> tuple[dict[str, BenchmarkRecord], str]:
    """What to keep of the stored baseline (accumulating same-build runs into ``fresh``)
    and the note for the summary. Call with the lock held."""
    if not path.exists():
        return {}, ""
    try:
        old = read_baseline_file(path)
    except BenchDataError as exc:
        # Unreadable, another format or a bad field: it may be a newer plugin's file or
        # hand-edited figures, so keep a copy instead of silently losing it.
        copy_path = _backup(path)
        why = str(exc).split("; ")[0]  # its advice ("re-save it") is what this save does
        return {}, (f" (the old file could not be used and is replaced; a copy is kept as "
                    f"{copy_path.name}: {why})")
    if environment_differences(old.environment, environment):
        return {}, f" (dropped {len(old.benchmarks)} entries from a different environment)"
    kept = {k: v for k, v in old.benchmarks.items() if k not in fresh}
    note = ""
    if _same_build(old.environment, environment):
        runs = max([_accumulate(rec, old.benchmarks.get(k)) for k, rec in fresh.items()],
                   default=0)
        if runs > 1:
            note = (f" (run {runs} of build {str(environment['git_commit'])[:10]}: "
                    "values are the median of the saved runs)")
    return kept, note


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<path>.lock`` (a file of its own, because
    ``os.replace`` swaps the baseline's inode, and a lock on a replaced inode locks nothing).
    The lock file stays: removing it would let a waiting save lock a file no one else sees."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when fd closes, even on a crash
        yield
    finally:
        os.close(fd)


def _backup(path: Path) -> Path:
    """Copy ``path`` to ``<name>.bak-<UTC date-time>`` (never over an older copy)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    data = path.read_bytes()
    for n in range(1000):
        candidate = path.with_name(f"{path.name}.bak-{stamp}" + (f"-{n}" if n else ""))
        try:
            with open(candidate, "xb") as out:  # exclusive: two saves in one second
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"too many backups of {path} named {path.name}.bak-{stamp}-*")


def _reason(exc: OSError) -> str:
    """An OSError as one short phrase: what failed and on which file."""
    what = exc.strerror or str(exc) or type(exc).__name__
    return f"{what} ({exc.filename})" if exc.filename else what
