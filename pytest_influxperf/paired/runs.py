"""What one gate run left behind: its metrics (the JSON report) and its test outcomes (JUnit).

The gate reads two files per run, both written by the run's own pytest: the plugin's JSON
report (``--influx-report``) for the figures, and pytest's built-in JUnit XML
(``--junitxml``) for which tests passed. JUnit is used for outcomes because every pytest
writes it: the base may be an older revision of a project whose plugin version knows
nothing of the gate.
"""

from __future__ import annotations

import dataclasses
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ..errors import InfluxPerfError

Outcome = Literal["passed", "failed", "skipped"]


class RunReadError(InfluxPerfError):
    """A run's report or JUnit file is missing or unreadable; the message names the file."""


@dataclasses.dataclass(frozen=True)
class MetricValue:
    """One figure of one run: ``value`` in ``unit``, better when ``direction`` says so."""

    value: float
    unit: str
    direction: Literal["higher", "lower"]


MetricKey = tuple[str, str]  # (benchmark node id, metric name)


@dataclasses.dataclass
class RunResult:
    """One pytest run of one side: its metrics and the outcome of each test."""

    side: str
    index: int
    metrics: dict[MetricKey, MetricValue]
    outcomes: dict[str, Outcome]
    exit_code: int


def read_metrics(path: Path) -> dict[MetricKey, MetricValue]:
    """Every gated metric of a JSON report, keyed by (node id, metric name).

    A metric with an unknown direction or a value that is not a finite number is left out
    (it cannot be judged); a file that is not a report is an error naming it.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunReadError(f"cannot read the run's report {path}: {exc}") from None
    benchmarks = data.get("benchmarks") if isinstance(data, Mapping) else None
    if not isinstance(benchmarks, Mapping):
        raise RunReadError(f"{path} is not a pytest-influxperf JSON report (no 'benchmarks')")
    out: dict[MetricKey, MetricValue] = {}
    for nodeid, bench in benchmarks.items():
        metrics = bench.get("metrics") if isinstance(bench, Mapping) else None
        if not isinstance(metrics, Mapping):
            continue
        for name, metric in metrics.items():
            value = _metric_value(metric)
            if value is not None:
                out[(str(nodeid), str(name))] = value
    return out


def _metric_value(metric: Any) -> MetricValue | None:
    if not isinstance(metric, Mapping):
        return None
    value, direction = metric.get("value"), metric.get("direction")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if direction not in ("higher", "lower") or not math.isfinite(value):
        return None
    return MetricValue(float(value), str(metric.get("unit") or ""), direction)


def read_outcomes(path: Path) -> dict[str, Outcome]:
    """Each test case of a JUnit XML file: ``passed``, ``failed`` (failure or error) or
    ``skipped``, keyed ``classname::name`` (``suites.test_x::test_y[5000]``).

    A test that failed in its set-up or tear-down appears twice in JUnit; a failure in
    either makes it failed.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise RunReadError(f"cannot read the run's JUnit file {path}: {exc}") from None
    out: dict[str, Outcome] = {}
    for case in root.iter("testcase"):
        key = f"{case.get('classname', '')}::{case.get('name', '')}"
        tags = {child.tag for child in case}
        outcome: Outcome = ("failed" if tags & {"failure", "error"} else
                            "skipped" if "skipped" in tags else "passed")
        if out.get(key) != "failed":
            out[key] = outcome
    return out
