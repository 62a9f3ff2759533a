"""Stored baselines and reports are validated on read: a damaged file is one clear error.

Each case of issue 10 ("corrupt baselines") is here with the file it names: on the old
code these crashed with a raw traceback, passed silently, or printed nonsense such as
"is - above baseline 0" and "2407120% below baseline -5". The files are written by hand
(not by ``save_baseline``), so the expected messages do not come from the code under test.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from pytest_influxperf.bench.baseline import load_baseline, read_baseline_file, save_baseline
from pytest_influxperf.bench.gate import MetricComparison, _geomean_change, judge_index
from pytest_influxperf.bench.records import BenchDataError, BenchmarkRecord, Metric
from pytest_influxperf.bench.session import BenchSession, BenchSettings
from pytest_influxperf.cli import main

NODE = "t.py::test_w"
ENV = {"provider": "process", "api": "v1", "server_version": "1.6.7"}
GOOD = {
    "format": "pytest-influxperf baseline 1", "tier": "unit", "environment": ENV,
    "benchmarks": {NODE: {"name": "test_w", "group": None, "info": {}, "metrics": {
        "write points/s": {"value": 240000.0, "unit": "points/s", "direction": "higher",
                           "rounds": [240000.0], "runs": [], "tolerance": None}}}},
}


def damaged(change) -> dict:
    """A copy of GOOD with ``change(doc, metric)`` applied."""
    doc = copy.deepcopy(GOOD)
    change(doc, doc["benchmarks"][NODE]["metrics"]["write points/s"])
    return doc


def write(folder: Path, doc: object, tier: str = "unit") -> Path:
    path = folder / tier / "baseline.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


# (id, change, what the message must say besides the file and the remedy)
CASES = [
    ("negative-value", lambda d, m: m.update(value=-5),
     f"benchmark {NODE!r}: metric 'write points/s': field 'value' must be a finite number > 0, "
     "not -5"),
    ("zero-value", lambda d, m: m.update(value=0),
     "field 'value' must be a finite number > 0, not 0"),
    ("string-value", lambda d, m: m.update(value="117944"),
     "field 'value' must be a number, not '117944'"),
    ("string-metric", lambda d, m: d["benchmarks"][NODE]["metrics"].update(
        {"write points/s": "fast"}),
     f"benchmark {NODE!r}: metric 'write points/s' must be an object"),
    ("list-environment", lambda d, m: d.update(environment=["process", "v1"]),
     "field 'environment' must be an object, not ['process', 'v1']"),
    ("no-benchmarks", lambda d, m: d.pop("benchmarks"), "has no 'benchmarks' field"),
    ("empty-metrics", lambda d, m: d["benchmarks"][NODE].update(metrics={}),
     f"benchmark {NODE!r}: field 'metrics' is empty"),
    ("bad-direction", lambda d, m: m.update(direction="up"),
     "field 'direction' must be 'higher' or 'lower', not 'up'"),
    ("negative-round", lambda d, m: m.update(rounds=[240000.0, -1]),
     "field 'rounds' must be a finite number > 0, not -1"),
    ("huge-integer", lambda d, m: m.update(value=10**400),
     "field 'value' is too large to be a measurement"),
]


@pytest.mark.parametrize("change, says", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_damaged_baseline_is_one_error_naming_file_benchmark_and_field(tmp_path, change,
                                                                        says):
    path = write(tmp_path, damaged(change))
    with pytest.raises(BenchDataError) as info:
        read_baseline_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and says in message
    assert message.endswith("; re-save it with --influx-save-baseline")
    assert "\n" not in message


def test_the_good_file_is_read(tmp_path):
    metric = read_baseline_file(write(tmp_path, GOOD)).benchmarks[NODE].metrics["write points/s"]
    assert (metric.value, metric.direction, metric.rounds) == (240000.0, "higher", [240000.0])


def _session(tmp_path: Path, compare: str = "fail") -> BenchSession:
    return BenchSession(BenchSettings(baselines_dir=tmp_path, tier="unit", compare=compare),
                        lambda: dict(ENV))


def _run(session: BenchSession, nodeid: str, value: float):
    recorder = session.new_recorder(nodeid, nodeid, None, {})
    recorder.metric("write points/s", value, unit="points/s", direction="higher")
    return session.finish_test(recorder)


def test_a_negative_baseline_fails_each_benchmark_and_the_session_ends(tmp_path):
    """Old code: "ValueError: math domain error" in _geomean_change at the end of the run."""
    doc = copy.deepcopy(GOOD)
    other = copy.deepcopy(doc["benchmarks"][NODE])
    doc["benchmarks"][NODE]["metrics"]["write points/s"]["value"] = -5
    doc["benchmarks"]["t.py::test_v"] = other
    path = write(tmp_path, doc)
    session = _session(tmp_path)
    outcomes = [_run(session, NODE, 120351.0), _run(session, "t.py::test_v", 240000.0)]
    assert [o.kind for o in outcomes] == ["error", "error"]
    assert outcomes[0].message == (
        f"unusable baseline of tier unit: {path}: benchmark {NODE!r}: metric 'write points/s': "
        "field 'value' must be a finite number > 0, not -5; re-save it with "
        "--influx-save-baseline")
    assert session.run_outcome() is None
    session.finish_session()  # no exception: the summary is still written


def test_a_damaged_baseline_in_warn_mode_is_a_warning_naming_the_file(tmp_path):
    path = write(tmp_path, damaged(lambda d, m: m.update(value=0)))
    outcome = _run(_session(tmp_path, compare="warn"), NODE, 240000.0)
    assert outcome.kind == "no-baseline"
    assert outcome.message.startswith(f"baseline of tier unit not used: {path}: ")


def test_a_baseline_without_metrics_no_longer_passes_in_fail_mode(tmp_path):
    """Old code: `metrics: {}` gave "0 metric(s) within tolerance" and a pass."""
    write(tmp_path, damaged(lambda d, m: d["benchmarks"][NODE].update(metrics={})))
    assert _run(_session(tmp_path), NODE, 240000.0).kind == "error"


def test_geomean_leaves_out_what_has_no_logarithm():
    with pytest.raises(ValueError):  # what the old one-liner did with a negative ratio
        math.log(-20.0)
    assert _geomean_change([-20.0, 2.0]) == pytest.approx(1.0)  # only 2.0: 2 - 1
    assert math.isnan(_geomean_change([0.0, -1.0]))


def test_the_throughput_index_skips_a_negative_figure_of_this_run():
    def judged(current: float) -> MetricComparison:
        return MetricComparison("write points/s", "points/s", "higher", current, 100.0,
                                current / 100.0 - 1, 0.1, "pass")

    # ratios 2.0 and 0.5 (the -50 is left out): geometric mean 1.0, a change of 0
    outcome = judge_index([judged(200.0), judged(50.0), judged(-50.0)], [], 0.10, "unit")
    assert outcome is not None and outcome.kind == "pass"
    assert outcome.comparisons[0].change == pytest.approx(0.0)


def test_a_save_leaves_out_figures_its_reader_would_refuse(tmp_path):
    zero = BenchmarkRecord("t.py::test_z", "test_z", metrics={
        "write points/s": Metric("write points/s", 0.0, "points/s", "higher")})
    path, summary = save_baseline(tmp_path, "unit", ENV, [zero])
    assert not path.exists()
    assert summary == (f"nothing saved to {path}: no benchmark recorded a usable figure, "
                       "left out 1 with a zero or negative figure")
    good = BenchmarkRecord(NODE, "test_w", metrics={
        "write points/s": Metric("write points/s", 5.0, "points/s", "higher")})
    save_baseline(tmp_path, "unit", ENV, [zero, good])
    assert list(load_baseline(tmp_path, "unit").benchmarks) == [NODE]


# -- influxperf compare ----------------------------------------------------------------
@pytest.mark.parametrize("change", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_compare_on_a_damaged_file_is_one_line_and_exit_2(tmp_path, capsys, change):
    good = write(tmp_path / "a", GOOD)
    bad = write(tmp_path / "b", damaged(change))
    for args in ([str(bad), str(good)], [str(good), str(bad), "--fail-on-regression"]):
        assert main(["compare", *args]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        err = captured.err.splitlines()
        assert len(err) == 1 and err[0].startswith(f"influxperf: compare: {bad}: ")
        assert err[0].endswith("re-save it with --influx-save-baseline")


def test_compare_never_prints_a_percentage_of_a_negative_baseline(tmp_path, capsys):
    """Old code: "120,351 is 2407120% below baseline -5"."""
    reference = write(tmp_path / "a", damaged(lambda d, m: m.update(value=-5)))
    current = write(tmp_path / "b", damaged(lambda d, m: m.update(value=120351.0)))
    assert main(["compare", str(reference), str(current)]) == 2
    captured = capsys.readouterr()
    assert "2407120%" not in captured.out + captured.err
    assert "field 'value' must be a finite number > 0, not -5" in captured.err


def test_a_report_leaves_out_benchmarks_with_infrastructure_errors(tmp_path, capsys):
    baseline = write(tmp_path, GOOD)
    report = copy.deepcopy(GOOD)
    report["format"] = "pytest-influxperf report 1"
    dead = copy.deepcopy(report["benchmarks"][NODE])
    dead["metrics"]["write points/s"].update(value=0, rounds=[0])
    dead["errors"] = ["server exited"]
    report["benchmarks"]["t.py::test_dead"] = dead
    claims_only = {"name": "test_claims", "metrics": {}, "errors": []}
    report["benchmarks"]["t.py::test_claims"] = claims_only
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert main(["compare", str(baseline), str(tmp_path / "report.json"),
                 "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert "240,000 (+0.0%)" in out and "test_dead" not in out


def test_a_damaged_report_names_the_file_and_what_to_do(tmp_path, capsys):
    baseline = write(tmp_path, GOOD)
    report = damaged(lambda d, m: m.update(value="fast"))
    report["format"] = "pytest-influxperf report 1"
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert main(["compare", str(baseline), str(tmp_path / "report.json")]) == 2
    assert capsys.readouterr().err == (
        f"influxperf: compare: {tmp_path / 'report.json'}: benchmark {NODE!r}: metric "
        "'write points/s': field 'value' must be a number, not 'fast'; write the report "
        "again with --influx-report\n")


# -- through pytest: exit codes a CI step can trust ----------------------------------
BENCH = '''
import pytest


@pytest.mark.influx_bench(group="store")
def test_w(influx_bench):
    influx_bench.metric("write points/s", 240000.0, unit="points/s", direction="higher")
'''

NO_SERVER = '''
import pytest


@pytest.fixture(scope="session")
def influxdb():
    return object()  # the benchmark records a figure of its own; no server needed
'''


@pytest.mark.parametrize("change", [
    lambda d, m: d["benchmarks"]["test_bench.py::test_w"].update(metrics={}),
    lambda d, m: d.pop("benchmarks"),
    lambda d, m: m.update(value=-5),
], ids=["empty-metrics", "no-benchmarks", "negative-value"])
def test_a_damaged_baseline_fails_the_run_in_fail_mode_and_warns_in_warn_mode(pytester,
                                                                            change):
    pytester.makepyfile(test_bench=BENCH)
    pytester.makeconftest(NO_SERVER)
    doc = copy.deepcopy(GOOD)
    doc["benchmarks"] = {"test_bench.py::test_w": doc["benchmarks"][NODE]}
    change(doc, doc["benchmarks"]["test_bench.py::test_w"]["metrics"]["write points/s"])
    path = write(pytester.path / "baselines", doc, tier="unit")
    args = ("-p", "no:cacheprovider", "--influx-bench", "--influx-tier", "unit")
    failed = pytester.runpytest(*args, "--influx-compare", "fail")
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    failed.assert_outcomes(failed=1)
    text = failed.stdout.str()
    assert "Traceback" not in text and "RuntimeError" not in text
    assert "baseline.json" in text and "--influx-save-baseline" in text
    warned = pytester.runpytest(*args, "--influx-compare", "warn")
    assert warned.ret == pytest.ExitCode.OK
    warned.assert_outcomes(passed=1, warnings=1)
    assert f"baseline of tier unit not used: {path.relative_to(pytester.path)}" \
        in warned.stdout.str()


def test_a_report_with_only_broken_benchmarks_is_refused_not_shown_empty(tmp_path, capsys):
    baseline = write(tmp_path, GOOD)
    report = copy.deepcopy(GOOD)
    report["format"] = "pytest-influxperf report 1"
    report["benchmarks"][NODE]["errors"] = ["server exited"]
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert main(["compare", str(baseline), str(tmp_path / "report.json")]) == 2
    assert capsys.readouterr().err == (
        f"influxperf: compare: {tmp_path / 'report.json'}: every benchmark in it had "
        "infrastructure errors: no figure to compare; write the report again with "
        "--influx-report\n")
