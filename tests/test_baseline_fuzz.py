"""Mutated baseline files against the reader, ``influxperf compare`` and the gate (issue 10).

Each example starts from a valid baseline written by hand and damages it the ways files get
damaged: cut short, a field of the wrong type, a key missing or added, a zero, negative or
huge figure, unicode names. Whatever the damage:

- the reader returns a baseline or raises ``BenchDataError``, one line that names the file
  and says to re-save it; no other exception escapes;
- it refuses exactly the files that :func:`schema_ok` (the schema written out here, apart
  from the reader) calls invalid: a damaged file is never read as if it were whole;
- ``influxperf compare`` exits 2 with one ``influxperf: ...`` line on a refused file, 0 or 1
  on an accepted one, and never raises;
- in fail mode the session turns a refused file into an error, never a pass.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_influxperf.bench.baseline import read_baseline_file
from pytest_influxperf.bench.records import BenchDataError
from pytest_influxperf.bench.session import BenchSession, BenchSettings
from pytest_influxperf.cli import main

FORMAT = "pytest-influxperf baseline 1"
ENV = {"provider": "process", "api": "v1", "server_version": "1.6.7"}
WRITE = "suite/test_w.py::test_write[1000]"
QUERY = "suite/test_q.py::test_query"


def _metric(value: float, unit: str, direction: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "direction": direction, "tolerance": None,
            "rounds": [value * 0.98, value, value * 1.02], "runs": [value, value * 1.01],
            "spread": 0.02, "run_spread": 0.01}


BASE: dict[str, Any] = {
    "format": FORMAT, "tier": "fuzz", "environment": ENV,
    "benchmarks": {
        WRITE: {"name": "test_write[1000]", "group": "writes", "info": {"batch_size": 1000},
                "metrics": {"write points/s": _metric(240000.0, "points/s", "higher"),
                            "write latency p50": _metric(4.5, "ms", "lower")}},
        QUERY: {"name": "test_query", "group": None, "info": {},
                "metrics": {"query latency p50": _metric(12.0, "ms", "lower")}},
    },
}


# -- the schema, written out apart from the reader ---------------------------------------
def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _figure_ok(value: object) -> bool:
    """A stored figure: a JSON number, finite and > 0 (ratios are taken of it)."""
    if not _number(value):
        return False
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        return False
    return math.isfinite(number) and number > 0


def _metric_ok(metric: object) -> bool:
    if not isinstance(metric, dict) or "value" not in metric or "direction" not in metric:
        return False
    tolerance = metric.get("tolerance")
    return (_figure_ok(metric["value"])
            and isinstance(metric["direction"], str) and metric["direction"] in ("higher", "lower")
            and isinstance(metric.get("unit", ""), str)
            and (tolerance is None or (_number(tolerance) and 0 <= tolerance < 10))
            and all(metric.get(key) is None
                    or (isinstance(metric[key], list) and all(map(_figure_ok, metric[key])))
                    for key in ("rounds", "runs")))


def _benchmark_ok(entry: object) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("metrics"), dict):
        return False
    return (bool(entry["metrics"]) and all(map(_metric_ok, entry["metrics"].values()))
            and ("name" not in entry or isinstance(entry["name"], str))
            and (entry.get("group") is None or isinstance(entry["group"], str))
            and (entry.get("info") is None or isinstance(entry["info"], dict)))


def schema_ok(doc: object) -> bool:
    """Whether ``doc`` is a whole baseline of format 1 (extra keys are allowed)."""
    return (isinstance(doc, dict) and doc.get("format") == FORMAT
            and isinstance(doc.get("tier"), str) and isinstance(doc.get("environment"), dict)
            and isinstance(doc.get("benchmarks"), dict) and bool(doc["benchmarks"])
            and all(map(_benchmark_ok, doc["benchmarks"].values())))


def test_the_schema_accepts_the_base_file():
    assert schema_ok(BASE)


# -- damaging a file ------------------------------------------------------------------
def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, prefix + (index,))
    return out


PATHS = _paths(BASE)  # () is the whole document
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6)
FIGURES = st.sampled_from([0, 0.0, -0.0, -5, -1e-9, 5e-324, 1e308, 10**300, 10**400,
                           math.inf, -math.inf, math.nan, "240000", True, None]) \
    | st.floats() | st.integers()
KINDS = ("replace", "figure", "delete", "extra", "rename")


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    """The container holding ``path``'s last step, or None when earlier damage removed it."""
    node = doc
    for step in path[:-1]:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return None
    last = path[-1]
    if isinstance(node, dict) and last in node:
        return node
    if isinstance(node, list) and isinstance(last, int) and last < len(node):
        return node
    return None


@st.composite
def damaged_files(draw: st.DrawFn) -> str:
    """The text of a baseline file damaged one to three times, maybe cut short."""
    doc: Any = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path, kind = draw(st.sampled_from(PATHS)), draw(st.sampled_from(KINDS))
        if not path:
            if kind == "replace":
                doc = draw(JSON)
            continue
        parent = _parent(doc, path)
        if parent is None:
            continue
        key = path[-1]
        if kind == "replace":
            parent[key] = draw(JSON)
        elif kind == "figure":
            parent[key] = draw(FIGURES)
        elif kind == "delete":
            del parent[key]
        elif kind == "extra" and isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=6))] = draw(JSON)
        elif kind == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = parent.pop(key)  # unicode names
    text = json.dumps(doc)
    cut = draw(st.none() | st.integers(0, max(0, len(text) - 1)))
    return text if cut is None else text[:cut]


def expected_ok(text: str) -> bool:
    try:
        return schema_ok(json.loads(text))
    except ValueError:
        return False


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=damaged_files())
def test_the_reader_refuses_exactly_the_damaged_files(folder, text):
    path = _write(folder / "reader" / "baseline.json", text)
    valid = expected_ok(text)
    try:
        baseline = read_baseline_file(path)
    except BenchDataError as exc:
        message = str(exc)
        assert not valid, f"refused a whole file: {message}"
        assert "\n" not in message and str(path) in message
        assert message.endswith("re-save it with --influx-save-baseline"), message
        return
    assert valid, f"read a damaged file as whole: {text[:400]}"
    raw = json.loads(text)
    for nodeid, record in baseline.benchmarks.items():  # read as written, nothing coerced
        for name, metric in record.metrics.items():
            assert metric.value == float(raw["benchmarks"][nodeid]["metrics"][name]["value"])


def _compare(*paths: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["compare", *map(str, paths), "--fail-on-regression"])
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(text=damaged_files())
def test_compare_exits_2_with_one_line_on_exactly_the_damaged_files(folder, text):
    reference = _write(folder / "compare" / "ref" / "baseline.json", json.dumps(BASE))
    path = _write(folder / "compare" / "fuzz" / "baseline.json", text)
    valid = expected_ok(text)
    for order in ((reference, path), (path, reference)):
        code, out, err = _compare(*order)
        if valid:
            assert code in (0, 1) and err == "", err
            continue
        lines = err.splitlines()
        assert code == 2 and out == "", (code, out)
        assert len(lines) == 1 and lines[0].startswith("influxperf: ") and str(path) in lines[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=damaged_files())
def test_fail_mode_never_passes_on_a_damaged_baseline(folder, text):
    root = folder / "session"
    path = _write(root / "fuzz" / "baseline.json", text)
    session = BenchSession(BenchSettings(baselines_dir=root, tier="fuzz", compare="fail"),
                           lambda: dict(ENV))
    recorder = session.new_recorder(WRITE, "test_write[1000]", "writes", {})
    recorder.metric("write points/s", 240000.0, unit="points/s", direction="higher")
    outcome = session.finish_test(recorder)
    session.finish_session()  # the run's end (index, summary) must not raise either
    if expected_ok(text):
        assert outcome.kind != "error", outcome.message
    else:
        assert outcome.kind == "error" and str(path) in outcome.message, outcome.message
