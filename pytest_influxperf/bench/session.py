"""``BenchSession``: the benchmark state of one pytest run (no pytest import).

The plugin builds one session per run, asks it for a recorder per benchmark
(``new_recorder``), hands the recorder back when the test ends (``finish_test``, which
returns the :class:`~pytest_influxperf.bench.gate.Outcome`), and at the end lets it save
the baseline, write reports and plots (``finish_session``) and print its summary
(``terminal_summary``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .baseline import (
    Baseline,
    BaselineSaveError,
    environment_differences,
    load_baseline,
    save_baseline,
)
from .gate import (
    REGRESSION,
    UNCONFIRMED,
    MetricComparison,
    Outcome,
    compare_records,
    judge_index,
    not_judged,
    outcome_from,
    pooled_noise,
)
from .recorder import MARKER_INFO, BenchRecorder, check_marker
from .records import BenchDataError, BenchmarkRecord, check_tolerance
from .tiers import host_environment, resolve_tier, scrub

COMPARE_MODES = ("off", "warn", "fail")


@dataclasses.dataclass
class BenchSettings:
    """What the command line asked of the benchmark machinery."""

    baselines_dir: Path = Path("baselines")
    tier: str = "auto"
    save_baseline: bool = False
    compare: str = "fail"
    tolerance: float = 0.10
    reports: list[Path] = dataclasses.field(default_factory=list)
    plots_dir: Path | None = None
    scale: str = "smoke"
    seed: int = 0
    strict_claims: bool = False

    def __post_init__(self) -> None:
        self.baselines_dir = Path(self.baselines_dir)
        self.reports = [Path(p) for p in self.reports]
        if self.compare not in COMPARE_MODES:
            raise BenchDataError(f"--influx-compare must be one of {', '.join(COMPARE_MODES)}, "
                                 f"not {self.compare!r}")
        self.tolerance = check_tolerance(self.tolerance, what="--influx-tolerance")
        for path in self.reports:
            if path.suffix.lower() not in (".json", ".md", ".csv"):
                raise BenchDataError(f"--influx-report {path}: the extension picks the format; "
                                     "use .json, .md or .csv")


@dataclasses.dataclass
class ClaimRow:
    """One claim measurement with the claims registry's verdict (or only the figure)."""

    nodeid: str
    claim_id: str
    measured: float
    detail: str
    verdict: str
    #: The registry's verdict kind (``holds``, ``weaker``, ``contradicted``), None unjudged.
    kind: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def judge_claim(claim_id: str, measured: float) -> tuple[str, str | None]:
    """The verdict of the claims registry: its text and kind (None when not judged).

    The registry lives in ``bench.claims`` (another module); when it is missing or fails,
    the raw figure is shown rather than losing the measurement.
    """
    try:
        from . import claims  # imported late: optional, and owned elsewhere
        verdict = claims.judge(claim_id, measured)
    except Exception as exc:  # noqa: BLE001 - any failure there must not lose the figure
        return f"measured {measured:g} (not judged: {type(exc).__name__}: {exc})", None
    return str(getattr(verdict, "text", verdict)), getattr(verdict, "kind", None)


@dataclasses.dataclass
class TestResult:
    """A finished benchmark: what it recorded and how it compared."""

    record: BenchmarkRecord
    outcome: Outcome
    claims: list[ClaimRow] = dataclasses.field(default_factory=list)


class BenchSession:
    """The run's benchmark state. ``environment_provider`` returns the server's facts
    (``provider``, ``api``, ``server_version``, limits, image or binary); it is called once,
    lazily, the first time a benchmark needs it."""

    def __init__(self, settings: BenchSettings,
                 environment_provider: Callable[[], Mapping[str, Any]]) -> None:
        self.settings = settings
        self._environment_provider = environment_provider
        self._environment: dict[str, Any] | None = None
        self._tier: str | None = None
        self._baseline: Baseline | None = None
        self._baseline_loaded = False
        self._pooled: dict[tuple[str, str], float] | None = None
        self._run_outcome: Outcome | None = None
        self.results: list[TestResult] = []
        #: Lines for the summary about what ``finish_session`` did (baseline, reports).
        self.notes: list[str] = []
        #: What ``finish_session`` could not do that makes the run fail (the plugin turns
        #: it into a non-zero exit): a CI step that saves a baseline must not pass unsaved.
        self.failures: list[str] = []
        self.written: list[Path] = []

    # -- environment, tier, baseline ---------------------------------------------------
    def environment(self) -> dict[str, Any]:
        """Host facts + server facts + run settings; computed once. Never holds a secret."""
        if self._environment is None:
            env = host_environment()
            env.update(scrub(dict(self._environment_provider())))
            env.update(scale=self.settings.scale, seed=self.settings.seed)
            self._tier = resolve_tier(self.settings.tier, env)
            env["tier"] = self._tier
            self._environment = env
        return self._environment

    @property
    def tier(self) -> str:
        """The tier name this run belongs to (resolves ``auto`` on first use)."""
        if self._tier is None:
            self.environment()
        assert self._tier is not None
        return self._tier

    def baseline(self) -> Baseline | None:
        """The tier's stored baseline, loaded once (None when there is none)."""
        if not self._baseline_loaded:
            self._baseline = load_baseline(self.settings.baselines_dir, self.tier)
            self._baseline_loaded = True
        return self._baseline

    # -- per test ----------------------------------------------------------------------
    def new_recorder(self, nodeid: str, name: str, group: str | None,
                     marker_kwargs: Mapping[str, Any]) -> BenchRecorder:
        """A recorder for one benchmark; ``marker_kwargs`` may set ``tolerance``."""
        check_marker(marker_kwargs, where=nodeid)
        tolerance = marker_kwargs.get("tolerance")
        if tolerance is not None:
            tolerance = check_tolerance(tolerance, what=f"{nodeid}: influx_bench(tolerance=...)")
        recorder = BenchRecorder(nodeid, name, group, tolerance=tolerance, checker=self._check)
        for key, value in sorted(dict(marker_kwargs.get("info") or {}).items()):
            recorder.info(str(key), value)
        for key in MARKER_INFO:  # the chart conventions, given as keywords of their own
            if key in marker_kwargs:
                recorder.info(key, marker_kwargs[key])
        return recorder

    def _check(self, recorder: BenchRecorder) -> None:
        recorder.outcome = self._evaluate(recorder)
        recorder.outcome_version = recorder.version

    def finish_test(self, recorder: BenchRecorder) -> Outcome:
        """Compare the benchmark with the baseline (re-measuring a suspected regression)."""
        if recorder.outcome is None or recorder.outcome_version != recorder.version:
            self._check(recorder)
        outcome = recorder.outcome
        assert isinstance(outcome, Outcome)
        claims = [ClaimRow(recorder.record.nodeid, c.claim_id, c.measured, c.detail,
                           *judge_claim(c.claim_id, c.measured))
                  for c in recorder.record.claims]
        self.results.append(TestResult(recorder.record, outcome, claims))
        return outcome

    def claim_failures(self, nodeid: str | None = None) -> list[ClaimRow]:
        """Contradicted claims (``--influx-strict-claims`` fails on them), of one benchmark
        or of the whole run."""
        return [c for r in self.results for c in r.claims
                if c.kind == "contradicted" and nodeid in (None, r.record.nodeid)]

    def _evaluate(self, recorder: BenchRecorder) -> Outcome:
        record = recorder.record
        if record.errors:
            return Outcome("error", "infrastructure error, not judged as a regression: "
                           + "; ".join(record.errors))
        if not record.metrics:
            return Outcome("pass", "recorded no gated metrics")
        try:
            self.environment()
            tier = self.tier
        except Exception as exc:  # noqa: BLE001 - a server that cannot describe itself
            return Outcome("error", f"could not read the server environment: {exc}")
        if self.settings.save_baseline:
            return Outcome("pass", f"measured; saved as the baseline of tier {tier} at the end",
                           not_judged(record, None), tier)
        if self.settings.compare == "off":
            return Outcome("pass", "not compared (--influx-compare off)",
                           not_judged(record, None), tier)
        try:
            baseline = self.baseline()
        except BenchDataError as exc:  # names the file, the benchmark, the field, the remedy
            if self.settings.compare == "fail":
                return Outcome("error", f"unusable baseline of tier {tier}: {exc}",
                               not_judged(record, None), tier)
            # warn: the figures stand unjudged, and the run says once why (never silently)
            return Outcome("no-baseline", f"baseline of tier {tier} not used: {exc}",
                           not_judged(record, None), tier)
        hint = ("run `pytest --influx-bench --influx-save-baseline` on this machine "
                f"to store one under {self.settings.baselines_dir}")
        if baseline is None:
            return Outcome("no-baseline", f"no baseline for tier {tier} in "
                           f"{self.settings.baselines_dir}: {hint}", not_judged(record, None), tier)
        entry = baseline.benchmarks.get(record.nodeid)
        if entry is None:
            return Outcome("no-baseline", f"the baseline of tier {tier} has no entry for this "
                           f"benchmark: {hint}", not_judged(record, None), tier)
        differences = environment_differences(baseline.environment, self.environment())
        if differences:
            return Outcome("env-mismatch", f"ENVIRONMENT MISMATCH, figures not judged: the "
                           f"baseline of tier {tier} was recorded elsewhere ("
                           + "; ".join(differences) + "). Re-save the baseline on this "
                           "environment or pick the right --influx-tier.",
                           not_judged(record, entry), tier)
        floor = recorder.tolerance if recorder.tolerance is not None else self.settings.tolerance
        pooled = self._pooled_noise(baseline)
        comparisons = compare_records(record, entry, floor, pooled)
        if any(c.status == REGRESSION for c in comparisons):
            failed = self._confirm(recorder, entry, floor, pooled, comparisons)
            if failed is not None:
                return failed
        outcome = outcome_from(comparisons, tier)
        if outcome.kind == "regression" and not recorder.can_remeasure:
            outcome.message += (" (not confirmed: this benchmark registered no re-measure; "
                                "see BenchRecorder.measure)")
        return outcome

    def _pooled_noise(self, baseline: Baseline) -> dict[tuple[str, str], float]:
        if self._pooled is None:
            self._pooled = pooled_noise(baseline.benchmarks.values())
        return self._pooled

    def _confirm(self, recorder: BenchRecorder, entry: BenchmarkRecord, floor: float,
                 pooled: dict[tuple[str, str], float],
                 comparisons: list[MetricComparison]) -> Outcome | None:
        """Measure once more; a regression stands only if the re-measure regresses too."""
        if not recorder.can_remeasure:
            return None
        try:
            again = recorder.measure_again()
        except Exception as exc:  # noqa: BLE001 - the re-measure's failure is infrastructure
            return Outcome("error", f"re-measuring to confirm a suspected regression failed: "
                           f"{type(exc).__name__}: {exc}", comparisons, self.tier)
        if again.errors:
            return Outcome("error", "infrastructure error while re-measuring: "
                           + "; ".join(again.errors), comparisons, self.tier)
        second = {c.name: c for c in compare_records(again, entry, floor, pooled)}
        for comparison in comparisons:
            if comparison.status != REGRESSION:
                continue
            repeat = second.get(comparison.name)
            if repeat is not None:
                comparison.remeasured, comparison.remeasured_change = repeat.current, repeat.change
            if repeat is None or repeat.status != REGRESSION:
                comparison.status = UNCONFIRMED
        return None

    # -- end of run --------------------------------------------------------------------
    def run_outcome(self) -> Outcome | None:
        """The run-level verdict: the throughput index against the baseline (None when the
        run judged fewer than two throughput metrics). The plugin fails the session on a
        regression in ``--influx-compare fail`` mode.

        Why gate it, although a whole run is not re-measured: one throughput metric at smoke
        scale moves by 25-60 % between runs on a shared 2-core machine, so a server with half
        its CPU (-50 % on server-bound writes) hides inside one metric's tolerance; the
        geometric mean of all of them moved -31..-44 % in every such run against -15..+23 %
        in same-build runs (scripts/gate_demo.py; figures in the README)."""
        if self._run_outcome is None and self.results and not self.settings.save_baseline \
                and self.settings.compare != "off":
            try:
                baseline = self.baseline()
            except BenchDataError:
                return None
            if baseline is not None:
                comparisons = [c for r in self.results for c in r.outcome.comparisons]
                self._run_outcome = judge_index(comparisons, baseline.benchmarks.values(),
                                                self.settings.tolerance, self.tier)
        return self._run_outcome

    def finish_session(self) -> None:
        """Judge the run as a whole, save the baseline if asked, write reports and plots."""
        if not self.results:
            return
        self.run_outcome()
        if self.settings.save_baseline:
            records = [r.record for r in self.results]
            try:
                _, summary = save_baseline(self.settings.baselines_dir, self.tier,
                                           self.environment(), records)
                self.notes.append(f"baseline {summary}")
            except BaselineSaveError as exc:  # its message names the path and the remedy
                self.failures.append(str(exc))
                self.notes.append(f"ERROR: {exc}")
            except (OSError, BenchDataError) as exc:  # e.g. a tier that is no folder name
                self.failures.append(f"could not save the baseline: {exc}")
                self.notes.append(f"ERROR: could not save the baseline: {exc}")
        from .report import build_report, write_report

        report = build_report(self)
        for path in self.settings.reports:
            try:
                write_report(report, path)
                self.written.append(path)
                self.notes.append(f"report written: {path}")
            except OSError as exc:
                self.notes.append(f"ERROR: could not write report {path}: {exc}")
        if self.settings.plots_dir is not None:
            try:
                from .plots import write_plots

                paths = write_plots(report, self.settings.plots_dir)
                self.written.extend(paths)
                self.notes.append(f"{len(paths)} chart(s) written to {self.settings.plots_dir}")
            except ImportError as exc:
                self.notes.append(f"ERROR: charts need matplotlib "
                                  f"(pip install 'pytest-influxperf[plots]'): {exc}")
            except OSError as exc:
                self.notes.append(f"ERROR: could not write charts: {exc}")

    def terminal_summary(self, write_line: Callable[[str], None]) -> None:
        """Baseline, current and change per metric, outcomes, claims, files written."""
        if not self.results:
            return
        from .report import build_report, terminal_lines

        for line in terminal_lines(build_report(self)):
            write_line(line)

    # -- pytest-benchmark interoperation -------------------------------------------------
    def benchmark_machine_info(self) -> dict[str, Any]:
        """What ``pytest_benchmark_update_machine_info`` adds: tier and server facts."""
        if not self.results:
            return {}
        env = self.environment()
        return {"influxperf": {"tier": self.tier, **{k: env.get(k) for k in (
            "provider", "api", "server_version", "image", "binary", "limits_cpus",
            "limits_memory_bytes", "scale", "seed")}}}

    def benchmark_json_entries(self) -> list[dict[str, Any]]:
        """Our results as pytest-benchmark JSON entries (see ``bench.pbjson``)."""
        from .pbjson import entries

        return entries(self.results, self.tier) if self.results else []

    def update_benchmark_json(self, output_json: dict[str, Any]) -> None:
        """``pytest_benchmark_update_json``: append our entries and machine info in place."""
        output_json.setdefault("benchmarks", []).extend(self.benchmark_json_entries())
        output_json.setdefault("machine_info", {}).update(self.benchmark_machine_info())
