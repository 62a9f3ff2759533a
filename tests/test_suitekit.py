"""The suites' helpers (suites/suitekit.py): interleaving, ratios, query windows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "suites"))
import suitekit  # noqa: E402
from suitekit import DAY_NS, HOUR_NS, QueryDataset  # noqa: E402


def test_interleave_runs_abab():
    calls: list[str] = []
    out = suitekit.interleave({"a": lambda: calls.append("a") or 1,
                               "b": lambda: calls.append("b") or 2}, 3)
    assert calls == ["a", "b"] * 3
    assert out == {"a": [1, 1, 1], "b": [2, 2, 2]}
    with pytest.raises(ValueError, match="at least 1"):
        suitekit.interleave({"a": lambda: None}, 0)


def test_median_ratio_pairs_rounds():
    # paired per round: (10/5, 30/10, 8/2) -> 2, 3, 4 -> 3; medians first would give 10/5
    assert suitekit.median_ratio([10, 30, 8], [5, 10, 2]) == 3
    with pytest.raises(ValueError, match="no round"):
        suitekit.median_ratio([1], [0])


def _dataset(hosts: int, days: int, interval_s: int = 60) -> QueryDataset:
    per_host = days * 86_400 // interval_s
    last = 1_451_606_400 * 10**9 + days * DAY_NS - interval_s * 10**9
    return QueryDataset("db", "cpu", "hostname", tuple(f"host_{i}" for i in range(hosts)),
                        ("usage_user",), hosts * per_host, last - days * DAY_NS
                        + interval_s * 10**9, last)


def test_windows_end_on_a_whole_hour():
    ds = _dataset(10, 7)
    start, end = ds.window(HOUR_NS)
    assert end % HOUR_NS == 0 and end <= ds.last_ns and end - start == HOUR_NS


def test_raw_row_cap_filters_hosts_only_when_needed():
    small, large = _dataset(10, 7), _dataset(250, 28)
    assert "hostname" not in small.where(7 * DAY_NS, 1_000_000)
    hosts = large.hosts_within(7 * DAY_NS, 1_000_000)
    assert len(hosts) * 10_080 <= 1_000_000 < (len(hosts) + 1) * 10_080
    clause = large.where(7 * DAY_NS, 1_000_000)
    assert clause.count("OR") == len(hosts) - 1 and "'host_0'" in clause
