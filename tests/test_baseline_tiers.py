"""Tier fingerprints, named tier limits and environment comparison."""

from __future__ import annotations

import json

import pytest

from pytest_influxperf.bench.baseline import environment_differences, load_baseline
from pytest_influxperf.bench.records import BenchDataError
from pytest_influxperf.bench.tiers import (
    auto_tier_name,
    host_environment,
    parse_memory,
    resolve_tier,
    tier_limits,
)

ENV = {"provider": "process", "cpu_model": "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
       "cpu_count": 2, "memory_gib": 23, "limits_cpus": None, "limits_memory_bytes": None}


def test_auto_tier_is_readable_and_ignores_volatile_fields():
    name = auto_tier_name(ENV)
    assert name.startswith("process-2cpu-23gib-intel-xeon-platinum-8375c")
    noisy = dict(ENV, cpu_mhz=2899.1, date="2026-01-01", load=3.2, git_commit="abc",
                 server_version="1.8")
    assert auto_tier_name(noisy) == name


def test_auto_tier_changes_with_hardware_and_limits():
    name = auto_tier_name(ENV)
    assert auto_tier_name(dict(ENV, cpu_count=4)) != name
    limited = auto_tier_name(dict(ENV, limits_cpus=1.0))
    assert limited != name and "lim1cpu" in limited


def test_this_machine_gets_the_same_auto_tier_twice():
    first = dict(host_environment(), provider="process")
    second = dict(host_environment(), provider="process")
    assert resolve_tier("auto", first) == resolve_tier("auto", second)
    assert first["cpu_count"] >= 1 and first["memory_bytes"] > 0


def test_named_tier_names_are_checked():
    assert resolve_tier("ci-small", ENV) == "ci-small"
    with pytest.raises(BenchDataError, match="folder name"):
        resolve_tier("../etc", ENV)


def test_named_tiers_carry_limits(tmp_path):
    (tmp_path / "tiers.json").write_text(json.dumps({
        "ci-1cpu": {"cpus": 1, "memory": "512m", "description": "one core"},
        "mem-only": {"memory": "2g"}}))
    assert tier_limits("ci-1cpu", tmp_path) == (1.0, 512 * 2**20)
    assert tier_limits("mem-only", tmp_path) == (None, 2 * 2**30)
    assert tier_limits("unknown", tmp_path) is None
    assert tier_limits("anything", tmp_path / "missing") is None


def test_bad_tier_files_say_what_to_fix(tmp_path):
    (tmp_path / "tiers.json").write_text(json.dumps({"t": {"cpu": 1}}))
    with pytest.raises(BenchDataError, match="unknown field"):
        tier_limits("t", tmp_path)
    (tmp_path / "tiers.json").write_text(json.dumps({"t": {"cpus": -1}}))
    with pytest.raises(BenchDataError, match="positive"):
        tier_limits("t", tmp_path)
    with pytest.raises(BenchDataError, match="512m"):
        parse_memory("lots")


def test_environment_differences_ignore_fields_one_side_lacks():
    base = {"server_version": "1.6.7", "cpu_model": "A", "git_commit": "1"}
    now = {"server_version": "1.8.10", "cpu_model": "A", "git_commit": "2", "image": "x"}
    assert environment_differences(base, now) == [
        "server version: baseline '1.6.7', now '1.8.10'"]


def test_a_baseline_of_another_format_is_refused(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "baseline.json").write_text(json.dumps({"benchmarks": {}}))
    with pytest.raises(BenchDataError, match="not a pytest-influxperf baseline"):
        load_baseline(tmp_path, "t")
    assert load_baseline(tmp_path, "absent") is None


def _save(tmp_path, value, commit):
    from pytest_influxperf.bench.baseline import save_baseline
    from pytest_influxperf.bench.records import BenchmarkRecord, Metric

    record = BenchmarkRecord("t::a", "a")
    record.metrics["write points/s"] = Metric("write points/s", value, "points/s", "higher",
                                              [value])
    env = {"provider": "process", "git_commit": commit, "scale": "smoke"}
    return save_baseline(tmp_path, "t", env, [record]), record


def test_saving_the_same_build_again_adds_a_run_and_widens_the_tolerance(tmp_path):
    from pytest_influxperf.bench.gate import tolerance_for

    _save(tmp_path, 100.0, "c1")
    _save(tmp_path, 80.0, "c1")
    (_, summary), record = _save(tmp_path, 110.0, "c1")
    assert "run 3 of build c1" in summary
    assert record.metrics["write points/s"].value == 110.0  # the run's own figure is kept
    metric = load_baseline(tmp_path, "t").benchmarks["t::a"].metrics["write points/s"]
    assert metric.runs == [100.0, 80.0, 110.0] and metric.value == 100.0
    # range 30 / d2(3) 1.693 / median 100 = 17.7 % run-to-run noise -> 3 x = 53 %
    assert tolerance_for(metric, 0.10) == pytest.approx(3 * 30 / 1.693 / 100, rel=1e-3)


def test_saving_another_build_replaces_the_runs(tmp_path):
    _save(tmp_path, 100.0, "c1")
    _save(tmp_path, 80.0, "c1")
    (_, summary), _ = _save(tmp_path, 50.0, "c2")
    assert "run" not in summary
    metric = load_baseline(tmp_path, "t").benchmarks["t::a"].metrics["write points/s"]
    assert metric.runs == [] and metric.value == 50.0
