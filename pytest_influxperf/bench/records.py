"""The data model of a benchmark run: metrics, claims and one record per benchmark.

Everything here is plain data that round-trips through JSON (``to_dict``/``from_dict``),
because the same shapes are stored in baselines, written to reports and read back by
``influxperf compare``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InfluxPerfError
from .stats import median, relative_spread, round_sig

DIRECTIONS = ("higher", "lower")
#: What to do about a damaged baseline; the readers end their errors with it.
RESAVE = "re-save it with --influx-save-baseline"


class BenchDataError(InfluxPerfError, ValueError):
    """A metric, baseline or report that cannot be used as given; the message says why."""


def check_direction(direction: str, *, name: str) -> str:
    """Return ``direction`` if it is ``"higher"`` or ``"lower"``, else raise a clear error."""
    if direction not in DIRECTIONS:
        raise BenchDataError(
            f"metric {name!r}: direction must be 'higher' (higher is better, e.g. points/s) "
            f"or 'lower' (lower is better, e.g. latency), not {direction!r}")
    return direction


def check_tolerance(value: object, *, what: str) -> float:
    """Return a tolerance given as a fraction (0.10 for 10 %), or raise saying so."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 10:
        raise BenchDataError(f"{what} is a fraction such as 0.10 (10 %), not {show(value)}")
    return float(value)


def _finite(value: object, *, what: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BenchDataError(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise BenchDataError(f"{what} is {number}: a benchmark must record a finite figure")
    return number


@dataclasses.dataclass
class Metric:
    """One gated figure of a benchmark: its value, unit, direction and per-round values."""

    name: str
    value: float
    unit: str
    direction: str
    rounds: list[float] = dataclasses.field(default_factory=list)
    tolerance: float | None = None
    #: In a baseline: the value of each run of the same build that was saved (see
    #: ``baseline.save_baseline``); their spread is the run-to-run noise of the machine.
    runs: list[float] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        check_direction(self.direction, name=self.name)
        self.value = _finite(self.value, what=f"metric {self.name!r} value")
        self.rounds = [_finite(r, what=f"metric {self.name!r} round") for r in self.rounds]
        self.runs = [_finite(r, what=f"metric {self.name!r} run") for r in self.runs]
        if self.tolerance is not None:
            self.tolerance = check_tolerance(self.tolerance,
                                             what=f"metric {self.name!r}: tolerance")

    @property
    def spread(self) -> float:
        """Relative noise across rounds; 0.0 with fewer than 2 rounds."""
        return relative_spread(self.rounds)

    @property
    def run_spread(self) -> float:
        """Relative noise across saved runs of the same build; 0.0 with fewer than 2 runs."""
        return relative_spread(self.runs)

    def add_rounds(self, rounds: Sequence[float]) -> None:
        """Append rounds and move the value to the median of all rounds."""
        self.rounds.extend(_finite(r, what=f"metric {self.name!r} round") for r in rounds)
        self.value = median(self.rounds)

    def to_dict(self) -> dict[str, Any]:
        return {"value": round_sig(self.value), "unit": self.unit, "direction": self.direction,
                "rounds": [round_sig(r) for r in self.rounds],
                "spread": round(self.spread, 4), "tolerance": self.tolerance,
                "runs": [round_sig(r) for r in self.runs],
                "run_spread": round(self.run_spread, 4)}

    @classmethod
    def from_dict(cls, name: str, data: object) -> Metric:
        """A metric as stored in a baseline or report, validated (see :func:`stored_figure`).

        Raises :class:`BenchDataError` naming the metric and the field; the reader of the
        file adds the file, the benchmark and what to do.
        """
        if not isinstance(data, Mapping):
            raise BenchDataError(f"metric {name!r} must be an object with 'value' and "
                                 f"'direction', not {show(data)}")
        for key in ("value", "direction"):
            if key not in data:
                raise BenchDataError(f"metric {name!r} has no {key!r} field")
        where = f"metric {name!r}: field"
        direction = data["direction"]
        if not isinstance(direction, str) or direction not in DIRECTIONS:
            raise BenchDataError(f"{where} 'direction' must be 'higher' or 'lower', "
                                 f"not {show(direction)}")
        unit = data.get("unit", "")
        if not isinstance(unit, str):
            raise BenchDataError(f"{where} 'unit' must be a string, not {show(unit)}")
        tolerance = data.get("tolerance")
        if tolerance is not None:
            check_tolerance(tolerance, what=f"{where} 'tolerance'")
        return cls(name=name, unit=unit, direction=direction, tolerance=tolerance,
                   value=stored_figure(data["value"], what=f"{where} 'value'"),
                   rounds=_stored_figures(data.get("rounds"), what=f"{where} 'rounds'"),
                   runs=_stored_figures(data.get("runs"), what=f"{where} 'runs'"))


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (a JSON or OS error may span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def show(value: object, limit: int = 60) -> str:
    """A stored value as an error message quotes it: one line, cut to ``limit`` characters."""
    try:
        text = repr(value)  # repr escapes newlines: the message stays one line
    except ValueError:  # an int too long for str() (Python's digit limit)
        text = "an integer too long to print"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def stored_figure(value: object, *, what: str) -> float:
    """A figure read from a baseline or report: a JSON number, finite and > 0.

    Every stored figure is one a ratio is taken of (current / baseline, run / median), and
    the figures are rates and latencies: zero or a negative number can only be a damaged or
    hand-edited file, and judged it would read "is - above baseline 0" or "2407120% below".
    A string is refused even when it holds digits: the writer never stores one.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BenchDataError(f"{what} must be a number, not {show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range, e.g. 10**400
        raise BenchDataError(f"{what} is too large to be a measurement: {show(value)}") \
            from None
    if not math.isfinite(number) or number <= 0:
        raise BenchDataError(f"{what} must be a finite number > 0, not {show(value)}")
    return number


def _stored_figures(values: object, *, what: str) -> list[float]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise BenchDataError(f"{what} must be a list of numbers, not {show(values)}")
    return [stored_figure(v, what=what) for v in values]


@dataclasses.dataclass
class ClaimRecord:
    """A measurement offered as evidence for one of the guide's claims."""

    claim_id: str
    measured: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"claim": self.claim_id, "measured": round_sig(self.measured),
                "detail": self.detail}


@dataclasses.dataclass
class BenchmarkRecord:
    """Everything one benchmark test recorded: gated metrics, context info, claims, errors."""

    nodeid: str
    name: str
    group: str | None = None
    metrics: dict[str, Metric] = dataclasses.field(default_factory=dict)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    claims: list[ClaimRecord] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The stored shape (baselines and reports); errors are not stored in baselines."""
        return {"name": self.name, "group": self.group,
                "metrics": {k: m.to_dict() for k, m in sorted(self.metrics.items())},
                "info": {k: _jsonable(v) for k, v in sorted(self.info.items())}}

    @classmethod
    def from_dict(cls, nodeid: str, data: object, *,
                  require_metrics: bool = True) -> BenchmarkRecord:
        """One stored benchmark, validated; errors name the benchmark and the field.

        A baseline entry without metrics is damaged (a save stores only benchmarks that
        measured something), and passing it would gate nothing; a report may hold one (a
        benchmark that recorded only claims), hence ``require_metrics``.
        """
        try:
            return cls._from_stored(nodeid, data, require_metrics)
        except BenchDataError as exc:
            raise BenchDataError(f"benchmark {nodeid!r}: {exc}") from None

    @classmethod
    def _from_stored(cls, nodeid: str, data: object, require_metrics: bool) -> BenchmarkRecord:
        if not isinstance(data, Mapping):
            raise BenchDataError(f"must be an object with 'metrics', not {show(data)}")
        if "metrics" not in data:
            raise BenchDataError("has no 'metrics' field")
        metrics = data["metrics"]
        if not isinstance(metrics, Mapping):
            raise BenchDataError(f"field 'metrics' must be an object, not {show(metrics)}")
        if require_metrics and not metrics:
            raise BenchDataError("field 'metrics' is empty: a baseline entry needs at least "
                                 "one metric")
        name, group, info = data.get("name", nodeid), data.get("group"), data.get("info", {})
        if not isinstance(name, str):
            raise BenchDataError(f"field 'name' must be a string, not {show(name)}")
        if group is not None and not isinstance(group, str):
            raise BenchDataError(f"field 'group' must be a string or null, not {show(group)}")
        if info is not None and not isinstance(info, Mapping):
            raise BenchDataError(f"field 'info' must be an object, not {show(info)}")
        return cls(nodeid=nodeid, name=name or nodeid, group=group,
                   metrics={k: Metric.from_dict(k, v) for k, v in metrics.items()},
                   info=dict(info or {}))


def _jsonable(value: Any) -> Any:
    """Info values as JSON can hold them: numbers rounded, odd objects as their ``str``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round_sig(value) if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
