"""``BenchRecorder``: what the ``influx_bench`` fixture yields to a benchmark.

A benchmark measures with the harnesses and hands the results to the recorder; the
session compares them with the tier's baseline when the test ends.

Example::

    @pytest.mark.influx_bench(group="write-batch", tolerance=0.15)
    def test_batch_size(influx_bench, influx_writer, influx_series):
        series = influx_series("cpu-only", hosts=10, points=20_000, seed=1)

        def measure():
            for _ in range(5):                      # rounds: the gate reads their noise
                influx_bench.record_write(influx_writer.write(series, batch_size=5000))

        influx_bench.measure(measure)               # measure now, re-measure on suspicion
        influx_bench.info("batch_size", 5000)

Rounds. Calling ``record_write``/``record_query``/``metric`` again with the same name adds
a round; the metric's value is the median of its rounds, and the baseline keeps the rounds
so that the gate's tolerance follows the noise the baseline showed. Record several rounds
(3 to 7): one round gives the gate no noise to read and it falls back on the floor.

Confirm on fail. A suspected regression is measured once more before the test fails, and
it fails only if the re-measure regresses too. The recorder must know how to measure
again, so pass the measuring code as a zero-argument callable:

- ``influx_bench.measure(fn)`` calls ``fn`` now, remembers it, and compares with the
  baseline at once, so that a re-measure runs while every fixture of the test (database,
  writer) is still alive. This is the recommended form.
- ``influx_bench.remeasure(fn)`` only remembers ``fn``; the comparison (and the re-measure)
  then happens right after the test function returned, while its fixtures are alive.
- Neither: the plugin registers the test function itself (``item.runtest``), so the whole
  test body runs once more with the same fixture values. That fits a self-contained
  benchmark; one whose figures come from a module-scoped fixture should register a
  callable that really measures again.

During a re-measure the calls ``fn`` makes are recorded into a fresh record, compared on
their own; a benchmark that registered nothing fails without confirmation and says so.

Conventions read by the charts: ``info("batch_size", n)`` (batch-size curve) and
``info("workers", n)`` (writer scaling), one curve per parametrized test function.
``record_write`` also notes the WriteResult's ``batch_size`` and ``workers`` as
``"write batch_size"``/``"write workers"`` (context only: every write has them).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .records import (
    BenchDataError,
    BenchmarkRecord,
    ClaimRecord,
    Metric,
    check_direction,
    check_tolerance,
    show,
)

INFO_BATCH_SIZE = "batch_size"
INFO_WORKERS = "workers"

#: Keywords of ``@pytest.mark.influx_bench``: ``group`` and ``tolerance`` steer the gate;
#: ``info`` (a dict) and the chart conventions ``batch_size`` and ``workers`` are context.
MARKER_INFO = (INFO_BATCH_SIZE, INFO_WORKERS)
MARKER_KEYWORDS = ("group", "tolerance", "info", *MARKER_INFO)


def check_marker(kwargs: Mapping[str, Any], *, where: str, args: Sequence[object] = ()) -> None:
    """Refuse what ``@pytest.mark.influx_bench(...)`` cannot mean, naming every problem.

    An unknown keyword is almost always a typo (``tolerence=0.5``): taken as context it
    would change nothing, and the benchmark would be gated with the default tolerance.
    """
    problems = []
    if args:
        problems.append(f"positional argument(s) {show(tuple(args))}: it takes keywords only")
    for key in sorted(set(kwargs) - set(MARKER_KEYWORDS)):
        near = difflib.get_close_matches(key, MARKER_KEYWORDS, n=1)
        problems.append(f"unknown keyword {key!r}"
                        + (f" (did you mean {near[0]!r}?)" if near else ""))
    group, info, tolerance = kwargs.get("group"), kwargs.get("info"), kwargs.get("tolerance")
    if group is not None and not isinstance(group, str):
        problems.append(f"group must be a string, not {show(group)}")
    if info is not None and not isinstance(info, Mapping):
        problems.append(f"info must be a dict, not {show(info)}")
    if tolerance is not None:
        try:
            check_tolerance(tolerance, what="tolerance")
        except BenchDataError as exc:
            problems.append(str(exc))
    if problems:
        raise BenchDataError(f"{where}: @pytest.mark.influx_bench: " + "; ".join(problems)
                             + f" (it takes {', '.join(MARKER_KEYWORDS)})")


def _field(obj: Any, key: str) -> Any:
    """``obj.key`` or ``obj[key]``: harness results are objects, stored ones are dicts."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _error_list(errors: Any) -> list[str]:
    if not errors:
        return []
    if isinstance(errors, (int, float)):
        return [f"{int(errors)} error(s)"]
    return [str(e) for e in errors]


class BenchRecorder:
    """Collects one benchmark's metrics, info and claims (see the module docstring)."""

    def __init__(self, nodeid: str, name: str, group: str | None = None, *,
                 tolerance: float | None = None,
                 checker: Callable[[BenchRecorder], object] | None = None) -> None:
        self.record = BenchmarkRecord(nodeid=nodeid, name=name, group=group)
        #: Floor given through the marker (``influx_bench(tolerance=...)``), or None.
        self.tolerance = tolerance
        self._sink = self.record
        self._remeasure: Callable[[], object] | None = None
        self._checker = checker
        #: Bumped when a metric or an error is recorded, so the session knows whether an
        #: outcome it judged earlier (``measure``) is stale; info and claims do not count.
        self.version = 0
        #: The one re-measure of this benchmark, kept so a later re-judgement reuses it.
        self.remeasured: BenchmarkRecord | None = None
        self.outcome: object | None = None
        self.outcome_version = -1

    # -- gated metrics ---------------------------------------------------------------
    def metric(self, name: str, value: float, *, unit: str, direction: str,
               rounds: Sequence[float] = (), tolerance: float | None = None) -> None:
        """Record a gated metric. ``direction``: ``"higher"`` or ``"lower"`` is better.

        ``rounds`` are the per-round values (``value`` is normally their median). Recording
        the same name again adds rounds and moves the value to the median of all rounds.
        ``tolerance`` (a fraction) overrides the floor for this metric.
        """
        check_direction(direction, name=name)
        given = list(rounds) or [value]
        existing = self._sink.metrics.get(name)
        if existing is None:
            self._sink.metrics[name] = Metric(name=name, value=value, unit=unit,
                                              direction=direction, rounds=given,
                                              tolerance=tolerance)
        else:
            if (existing.unit, existing.direction) != (unit, direction):
                raise BenchDataError(
                    f"metric {name!r} was recorded as {existing.unit} ({existing.direction} is "
                    f"better) and now as {unit} ({direction} is better): use another name")
            existing.add_rounds(given)
        self._touch()

    def record_write(self, result: Any, *, prefix: str = "write",
                     expect_errors: bool = False) -> None:
        """Record a harness ``WriteResult``: points/s (higher), latency p50/p99 ms (lower).

        Bytes, points and server resources become info. A write that reported errors
        marks the benchmark as an infrastructure error (not a regression) unless
        ``expect_errors`` says the benchmark provokes them on purpose.
        """
        errors = _error_list(_field(result, "errors"))
        if errors and not expect_errors:
            self.error(f"{prefix}: {len(errors)} write error(s), first: {errors[0]}")
        aborted = _field(result, "aborted")
        if aborted:
            self.error(f"{prefix}: the write was aborted: {aborted}")
        pps = _field(result, "points_per_second")
        if pps is None:
            raise BenchDataError(f"record_write needs a WriteResult, got {type(result).__name__}")
        self.metric(f"{prefix} points/s", pps, unit="points/s", direction="higher")
        latency = _field(result, "latency_ms")
        for pct in ("p50", "p99"):
            value = _field(latency, pct) if latency is not None else None
            if value is not None:
                self.metric(f"{prefix} latency {pct}", value, unit="ms", direction="lower")
        for key in ("points_sent", "points_accepted", "points_rejected", "points_failed",
                    "bytes_sent", "bytes_on_wire", "elapsed_s", INFO_BATCH_SIZE, INFO_WORKERS):
            value = _field(result, key)
            if value is not None:
                self.info(f"{prefix} {key}", value)
        sent, accepted = _field(result, "bytes_sent"), _field(result, "points_accepted")
        if sent and accepted:
            self.info(f"{prefix} bytes_per_point", sent / accepted)
        wire = _field(result, "bytes_on_wire")
        if sent and wire:
            self.info(f"{prefix} compression_ratio", sent / wire)
        resources = _field(result, "server_resources")
        if resources:
            self.resources(resources)

    def record_query(self, result: Any, *, prefix: str = "query") -> None:
        """Record a harness ``QueryResult``: latency p50/p95 ms (lower); rows, bytes as info."""
        latency = _field(result, "latency_ms")
        if latency is None:
            raise BenchDataError(f"record_query needs a QueryResult, got {type(result).__name__}")
        for pct in ("p50", "p95"):
            value = _field(latency, pct)
            if value is not None:
                self.metric(f"{prefix} latency {pct}", value, unit="ms", direction="lower")
        for key in ("rows", "bytes", "runs"):
            value = _field(result, key)
            if value is not None:
                self.info(f"{prefix} {key}", value)

    # -- context ---------------------------------------------------------------------
    def info(self, key: str, value: object) -> None:
        """Non-gated context shown in reports (batch size, compression ratio, ...)."""
        self._sink.info[key] = value

    def resources(self, sample: Mapping[str, Any] | Any) -> None:
        """Server resource figures (``rss_bytes``, ``cpu_seconds``, ``disk_bytes``) as info."""
        if not isinstance(sample, Mapping):
            sample = sample.as_dict() if hasattr(sample, "as_dict") else vars(sample)
        for key, value in sample.items():
            if value is not None and key != "taken_at":
                self.info(f"server {key}", value)

    def claim(self, claim_id: str, measured: float, *, detail: str = "") -> None:
        """Store a measurement for one of the guide's claims (judged in the summary).

        An unknown id raises ``UnknownClaim`` naming the closest ids: stored, a typo would
        be judged by nothing and pass even under ``--influx-strict-claims``.
        """
        from .claims import get as known_claim  # the registry; imported when first needed

        known_claim(claim_id)
        if self._sink is not self.record:
            return  # a re-measure must not judge the same claim twice
        self.record.claims.append(ClaimRecord(claim_id, float(measured), detail))

    def error(self, message: str) -> None:
        """Mark an infrastructure error: the outcome is ``error``, never a regression."""
        self._sink.errors.append(message)
        self._touch()

    # -- confirm on fail -------------------------------------------------------------
    def remeasure(self, fn: Callable[[], object]) -> None:
        """Remember how to measure again (a zero-argument callable) for confirm-on-fail."""
        if not callable(fn):
            raise TypeError(f"remeasure() takes a zero-argument callable, not {fn!r}")
        self._remeasure = fn

    def measure(self, fn: Callable[[], object]) -> object:
        """Call ``fn`` now, remember it for confirm-on-fail, compare at once; return its result."""
        self.remeasure(fn)
        result = fn()
        # Not while re-measuring: a test body run again (the plugin's default re-measure)
        # calls measure() too, and must only record.
        if self._checker is not None and self._sink is self.record:
            self._checker(self)
        return result

    @property
    def can_remeasure(self) -> bool:
        return self._remeasure is not None

    def measure_again(self) -> BenchmarkRecord:
        """Run the registered callable into a fresh record and return that record.

        A benchmark is re-measured at most once: later calls return the same record.
        """
        if self.remeasured is not None:
            return self.remeasured
        if self._sink is not self.record:
            raise RuntimeError("measure_again() called while re-measuring")
        if self._remeasure is None:
            raise RuntimeError("no re-measure registered: call remeasure(fn) or measure(fn)")
        fresh = BenchmarkRecord(nodeid=self.record.nodeid, name=self.record.name,
                                group=self.record.group)
        self._sink = fresh
        try:
            self._remeasure()
        finally:
            self._sink = self.record
        self.remeasured = fresh
        return fresh

    def _touch(self) -> None:
        if self._sink is self.record:
            self.version += 1
