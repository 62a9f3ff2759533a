"""The gate's judgement, confirm-on-fail and the session's outcomes, without pytest glue.

These call ``BenchSession`` directly with a fixed environment, so every outcome is
deterministic; ``test_gate_plugin.py`` checks the same outcomes through pytest itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_influxperf.bench.baseline import save_baseline
from pytest_influxperf.bench.gate import (
    NOISE_FACTOR,
    compare_metric,
    format_percent,
    format_value,
    tolerance_for,
)
from pytest_influxperf.bench.recorder import BenchRecorder
from pytest_influxperf.bench.records import BenchDataError, BenchmarkRecord, ClaimRecord, Metric
from pytest_influxperf.bench.session import BenchSession, BenchSettings
from pytest_influxperf.bench.stats import relative_spread

SERVER = {"provider": "process", "api": "v1", "server_version": "1.6.7",
          "limits_cpus": None, "limits_memory_bytes": None}


def metric(values, direction="higher", unit="points/s", name="write points/s"):
    return Metric(name=name, value=sorted(values)[len(values) // 2], unit=unit,
                  direction=direction, rounds=list(values))


def test_tolerance_is_the_floor_for_a_steady_baseline_and_grows_with_noise():
    steady = metric([100.0, 100.0, 100.0])
    noisy = metric([80.0, 100.0, 120.0, 90.0, 110.0])
    assert tolerance_for(steady, 0.10) == 0.10
    assert tolerance_for(noisy, 0.10) == pytest.approx(NOISE_FACTOR * relative_spread(
        [80.0, 100.0, 120.0, 90.0, 110.0]))
    assert tolerance_for(noisy, 0.10) > 0.10


@pytest.mark.parametrize("direction,current,status", [
    ("higher", 80.0, "regression"), ("higher", 95.0, "pass"), ("higher", 130.0, "improvement"),
    ("lower", 130.0, "regression"), ("lower", 105.0, "pass"), ("lower", 70.0, "improvement"),
])
def test_each_metric_is_judged_in_its_direction(direction, current, status):
    base = metric([100.0, 100.0, 100.0], direction=direction)
    now = metric([current], direction=direction)
    assert compare_metric(now, base, 0.10).status == status


def test_regression_sentence_names_figures_tier_and_tolerance():
    base = metric([240000.0] * 3)
    comparison = compare_metric(metric([180000.0]), base, 0.12)
    assert comparison.sentence("ci-small") == (
        "write points/s 180,000 is 25% below baseline 240,000 on tier ci-small (tolerance 12%)")


def test_latency_sentence_carries_the_unit():
    base = metric([10.0] * 3, direction="lower", unit="ms", name="query latency p95")
    comparison = compare_metric(metric([15.0], "lower", "ms", "query latency p95"), base, 0.1)
    assert comparison.sentence("t") == ("query latency p95 15.0 ms is 50% above baseline "
                                        "10.0 ms on tier t (tolerance 10%)")


def test_number_and_percent_formatting():
    assert [format_value(v) for v in (240000, 123.4, 12.34, 0.01234, None)] == [
        "240,000", "123", "12.3", "0.0123", "-"]
    assert format_percent(-0.254, signed=True) == "-25%"
    assert format_percent(0.034, signed=True) == "+3.4%"


def test_bad_metric_input_says_what_to_do():
    with pytest.raises(BenchDataError, match="direction must be 'higher'"):
        BenchRecorder("n", "n").metric("x", 1.0, unit="s", direction="faster")
    with pytest.raises(BenchDataError, match="finite"):
        BenchRecorder("n", "n").metric("x", float("nan"), unit="s", direction="lower")


# -- session outcomes ---------------------------------------------------------------------
def make_session(tmp_path: Path, **settings) -> BenchSession:
    settings.setdefault("baselines_dir", tmp_path / "baselines")
    settings.setdefault("tier", "unit")
    return BenchSession(BenchSettings(**settings), lambda: dict(SERVER))


def store(tmp_path: Path, nodeid: str, rounds, env=None) -> None:
    record = BenchmarkRecord(nodeid, nodeid)
    record.metrics["write points/s"] = metric(rounds)
    environment = dict(SERVER, scale="smoke", seed=0, **(env or {}))
    save_baseline(tmp_path / "baselines", "unit", environment, [record])


def run_bench(session: BenchSession, nodeid: str, first, again=None):
    recorder = session.new_recorder(nodeid, nodeid, None, {})
    values = iter([first] + ([again] if again is not None else []))

    def measure():
        recorder.metric("write points/s", next(values), unit="points/s", direction="higher")

    if again is not None:
        recorder.measure(measure)
    else:
        measure()
    return session.finish_test(recorder)


def test_first_run_without_baseline_warns_and_says_how_to_save(tmp_path):
    outcome = run_bench(make_session(tmp_path), "t::a", 100.0)
    assert outcome.kind == "no-baseline"
    assert "--influx-save-baseline" in outcome.message


def test_confirmed_regression_fails_with_both_measurements(tmp_path):
    store(tmp_path, "t::a", [240000.0, 241000.0, 239000.0])
    outcome = run_bench(make_session(tmp_path), "t::a", 180000.0, again=181000.0)
    assert outcome.kind == "regression"
    assert outcome.message.startswith("write points/s 180,000 is 25% below baseline 240,000 "
                                      "on tier unit (tolerance 10%)")
    assert "re-measured 181,000 (-25%)" in outcome.message


def test_regression_that_vanishes_on_re_measure_passes_and_says_so(tmp_path):
    store(tmp_path, "t::a", [240000.0, 241000.0, 239000.0])
    outcome = run_bench(make_session(tmp_path), "t::a", 180000.0, again=238000.0)
    assert outcome.kind == "pass"
    assert "not confirmed on re-measure" in outcome.message


def test_regression_without_re_measure_says_it_was_not_confirmed(tmp_path):
    store(tmp_path, "t::a", [240000.0] * 3)
    outcome = run_bench(make_session(tmp_path), "t::a", 100000.0)
    assert outcome.kind == "regression" and "not confirmed" in outcome.message


def test_noise_in_the_baseline_widens_the_tolerance(tmp_path):
    # Baseline rounds scatter ~10 %: a 20 % drop is within 3 x noise, not a regression.
    store(tmp_path, "t::a", [90.0, 100.0, 110.0, 95.0, 105.0])
    outcome = run_bench(make_session(tmp_path), "t::a", 80.0)
    assert outcome.kind == "pass", outcome.message


def test_improvement_is_reported_and_never_fails(tmp_path):
    store(tmp_path, "t::a", [100.0] * 3)
    outcome = run_bench(make_session(tmp_path), "t::a", 150.0)
    assert outcome.kind == "improvement" and "50% above baseline" in outcome.message


def test_environment_mismatch_names_what_differs(tmp_path):
    store(tmp_path, "t::a", [100.0] * 3, env={"server_version": "1.8.10",
                                               "cpu_model": "Other CPU"})
    session = make_session(tmp_path)
    session.environment()["cpu_model"] = "This CPU"
    outcome = run_bench(session, "t::a", 10.0)
    assert outcome.kind == "env-mismatch"
    assert "server version: baseline '1.8.10', now '1.6.7'" in outcome.message
    assert "cpu model: baseline 'Other CPU', now 'This CPU'" in outcome.message


def test_write_errors_are_an_infrastructure_error_not_a_regression(tmp_path):
    store(tmp_path, "t::a", [100.0] * 3)
    session = make_session(tmp_path)
    recorder = session.new_recorder("t::a", "a", None, {})
    recorder.record_write({"points_per_second": 1.0, "errors": ["HTTP 500: engine down"],
                           "latency_ms": {"p50": 1.0, "p99": 2.0}})
    outcome = session.finish_test(recorder)
    assert outcome.kind == "error" and "HTTP 500" in outcome.message


def test_a_failing_re_measure_is_an_error(tmp_path):
    store(tmp_path, "t::a", [100.0] * 3)
    session = make_session(tmp_path)
    recorder = session.new_recorder("t::a", "a", None, {})
    calls = []

    def measure():
        calls.append(1)
        if len(calls) > 1:
            raise ConnectionError("server went away")
        recorder.metric("write points/s", 10.0, unit="points/s", direction="higher")

    recorder.measure(measure)
    outcome = session.finish_test(recorder)
    assert outcome.kind == "error" and "server went away" in outcome.message


def test_compare_off_never_judges(tmp_path):
    store(tmp_path, "t::a", [100.0] * 3)
    outcome = run_bench(make_session(tmp_path, compare="off"), "t::a", 1.0)
    assert outcome.kind == "pass" and "off" in outcome.message


def test_marker_tolerance_overrides_the_floor(tmp_path):
    store(tmp_path, "t::a", [100.0] * 3)
    session = make_session(tmp_path)
    recorder = session.new_recorder("t::a", "a", None, {"tolerance": 0.5})
    recorder.metric("write points/s", 60.0, unit="points/s", direction="higher")
    assert session.finish_test(recorder).kind == "pass"
    with pytest.raises(BenchDataError, match="fraction"):
        session.new_recorder("t::b", "b", None, {"tolerance": "10%"})


def test_record_write_and_query_take_harness_shaped_results():
    recorder = BenchRecorder("t::a", "a")
    for pps in (100.0, 300.0, 200.0):
        recorder.record_write({"points_per_second": pps, "points_sent": 10, "points_accepted": 10,
                               "bytes_sent": 500, "bytes_on_wire": 100, "errors": [],
                               "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0},
                               "server_resources": {"rss_bytes": 123, "cpu_seconds": None}})
    recorder.record_query({"latency_ms": {"p50": 5.0, "p95": 6.0}, "rows": 7, "bytes": 8})
    metrics = recorder.record.metrics
    assert metrics["write points/s"].value == 200.0
    assert metrics["write points/s"].rounds == [100.0, 300.0, 200.0]
    assert metrics["write latency p99"].direction == "lower"
    assert metrics["query latency p95"].value == 6.0
    info = recorder.record.info
    assert info["write bytes_per_point"] == 50.0 and info["write compression_ratio"] == 5.0
    assert info["server rss_bytes"] == 123 and "server cpu_seconds" not in info
    assert info["query rows"] == 7


def test_baseline_file_is_sorted_diffable_and_keeps_other_benchmarks(tmp_path):
    store(tmp_path, "t::b", [1.0, 2.0, 3.0])
    store(tmp_path, "t::a", [100.0, 101.0, 99.0], env={"token": "s3cret-token"})
    path = tmp_path / "baselines" / "unit" / "baseline.json"
    text = path.read_text()
    data = json.loads(text)
    assert list(data["benchmarks"]) == ["t::a", "t::b"]  # kept t::b, sorted
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert "s3cret" not in text and "token" not in data["environment"]
    assert data["benchmarks"]["t::a"]["metrics"]["write points/s"]["rounds"] == [100.0, 101.0,
                                                                                  99.0]


def test_a_broken_baseline_is_an_error_that_says_how_to_fix_it(tmp_path):
    path = tmp_path / "baselines" / "unit" / "baseline.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    outcome = run_bench(make_session(tmp_path), "t::a", 1.0)
    assert outcome.kind == "error" and "--influx-save-baseline" in outcome.message


def test_settings_refuse_bad_values():
    with pytest.raises(BenchDataError, match="off, warn, fail"):
        BenchSettings(compare="loud")
    with pytest.raises(BenchDataError, match=".json, .md or .csv"):
        BenchSettings(reports=[Path("out.html")])


def test_claims_are_judged_by_the_registry_or_shown_raw(tmp_path):
    session = make_session(tmp_path)
    recorder = session.new_recorder("t::c", "c", None, {})
    recorder.claim("8.3/window-1h-rows", 100, detail="rows of a 1h window over 4 days")
    # recorder.claim refuses an unknown id (test_user_input.py); one can still come from
    # a registry that lost a claim: it is shown raw, never dropped
    recorder.record.claims.append(ClaimRecord("no/such-claim", 7.5))
    session.finish_test(recorder)
    rows = {c.claim_id: c for c in session.results[0].claims}
    assert rows["8.3/window-1h-rows"].kind == "contradicted"
    assert rows["no/such-claim"].kind is None
    assert rows["no/such-claim"].verdict.startswith("measured 7.5 (not judged")
    assert [c.claim_id for c in session.claim_failures()] == ["8.3/window-1h-rows"]
    lines: list[str] = []
    session.terminal_summary(lines.append)
    assert any(line.startswith("guide claims (claimed against measured") for line in lines)
    table = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert "contradicted" in table["8.3/window-1h-rows"]
    assert "rows of a 1h window over 4 days" in table["8.3/window-1h-rows"]
    assert "unknown claim" in table["no/such-claim"] and "7.5" in table["no/such-claim"]


def test_pooled_noise_of_the_baseline_covers_metrics_with_one_round(tmp_path):
    from pytest_influxperf.bench.gate import pooled_noise

    noisy = BenchmarkRecord("t::noisy", "noisy")
    noisy.metrics["write points/s"] = metric([80.0, 100.0, 120.0])   # 23.6 % noise
    single = BenchmarkRecord("t::single", "single")
    single.metrics["write points/s"] = metric([100.0])               # says nothing
    pooled = pooled_noise([noisy, single])
    assert pooled == {("higher", "points/s"): pytest.approx(40 / 1.693 / 100)}
    save_baseline(tmp_path / "baselines", "unit", dict(SERVER, scale="smoke", seed=0),
                  [noisy, single])
    # 30 % below: beyond the floor, within 3 x the machine's pooled noise -> not a regression
    assert run_bench(make_session(tmp_path), "t::single", 70.0).kind == "pass"


def _saved(tmp_path, runs_by_metric):
    """A baseline saved len(runs) times from one build: each save one value per metric."""
    from pytest_influxperf.bench.baseline import load_baseline

    env = dict(SERVER, scale="smoke", seed=0, git_commit="c1")
    for i in range(len(next(iter(runs_by_metric.values())))):
        records = []
        for nodeid, runs in runs_by_metric.items():
            record = BenchmarkRecord(nodeid, nodeid)
            record.metrics["write points/s"] = metric([runs[i]])
            records.append(record)
        save_baseline(tmp_path / "baselines", "unit", env, records)
    return load_baseline(tmp_path / "baselines", "unit")


def test_throughput_index_fails_a_run_whose_rates_all_dropped(tmp_path):
    from pytest_influxperf.bench.gate import judge_index

    # Each metric swings +-15 % between saved runs, but the runs' mean moves ~2 %.
    baseline = _saved(tmp_path, {"t::a": [100.0, 115.0, 85.0], "t::b": [100.0, 85.0, 115.0],
                                 "t::c": [100.0, 100.0, 100.0]})
    session = make_session(tmp_path)
    for nodeid, value in (("t::a", 62.0), ("t::b", 64.0), ("t::c", 66.0)):
        assert run_bench(session, nodeid, value).kind in ("pass", "regression")
    run = session.run_outcome()
    assert run is not None and run.kind == "regression"
    assert run.message.startswith("throughput index (geometric mean of 3 throughput metrics) "
                                  "is 36% below the baseline on tier unit (tolerance")
    comparisons = [c for r in session.results for c in r.outcome.comparisons]
    same = judge_index(comparisons, baseline.benchmarks.values(), 0.10, "unit")
    assert same is not None and same.kind == "regression"


def test_throughput_index_passes_noise_that_cancels_out(tmp_path):
    _saved(tmp_path, {"t::a": [100.0, 115.0, 85.0], "t::b": [100.0, 85.0, 115.0]})
    session = make_session(tmp_path)
    run_bench(session, "t::a", 92.0)
    run_bench(session, "t::b", 105.0)
    run = session.run_outcome()
    assert run is not None and run.kind == "pass"
    lines: list[str] = []
    session.terminal_summary(lines.append)
    assert any(line.startswith("ok: run: throughput index")
               for line in lines)


def test_tail_latencies_are_reported_beside_the_gate_never_failing():
    from pytest_influxperf.bench.gate import TAIL_REPORTED, compare_metric, is_tail

    assert [is_tail(n, "ms") for n in ("write latency p99", "query latency p95",
                                       "write latency p999", "write latency max")] == [True] * 4
    assert not is_tail("write latency p50", "ms") and not is_tail("write points/s", "points/s")
    base = metric([10.0, 10.0, 10.0], direction="lower", unit="ms", name="write latency p99")
    worse = metric([30.0], direction="lower", unit="ms", name="write latency p99")
    tail = compare_metric(worse, base, 0.10)
    assert tail.status == TAIL_REPORTED and tail.change == pytest.approx(2.0)
    median_base = metric([10.0] * 3, direction="lower", unit="ms", name="write latency p50")
    median_now = metric([30.0], direction="lower", unit="ms", name="write latency p50")
    assert compare_metric(median_now, median_base, 0.10).status == "regression"
