"""Tier fingerprints, named tier limits and environment comparison."""

from __future__ import annotations

import json

import pytest

from pytest_influxperf.bench.baseline import environment_differences, load_baseline
from pytest_influxperf.bench.records import BenchDataError
from pytest_influxperf.bench.tiers import (auto_tier_name, host_environment, parse_memory,
                                           resolve_tier, tier_limits)

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
