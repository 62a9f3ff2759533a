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
        raise BenchDataError(f"{what} is a fraction such as 0.10 (10 %), not {value!r}")
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
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> Metric:
        try:
            return cls(name=name, value=data["value"], unit=str(data.get("unit", "")),
                       direction=data["direction"], rounds=list(data.get("rounds") or []),
                       tolerance=data.get("tolerance"), runs=list(data.get("runs") or []))
        except KeyError as exc:
            raise BenchDataError(f"metric {name!r} has no {exc.args[0]!r} field") from None


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
    def from_dict(cls, nodeid: str, data: Mapping[str, Any]) -> BenchmarkRecord:
        metrics = data.get("metrics") or {}
        if not isinstance(metrics, Mapping):
            raise BenchDataError(f"benchmark {nodeid!r}: 'metrics' must be an object")
        return cls(nodeid=nodeid, name=str(data.get("name") or nodeid), group=data.get("group"),
                   metrics={k: Metric.from_dict(k, v) for k, v in metrics.items()},
                   info=dict(data.get("info") or {}))


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
