"""The paired gate's verdict on hand-made runs: thresholds, significance, family control,
the throughput index, tails, added/removed metrics and tests broken by the head."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pytest_influxperf.paired.judge import GateSettings, judge, pair_indices
from pytest_influxperf.paired.report import terminal_lines, to_csv, to_dict, to_markdown
from pytest_influxperf.paired.runs import (
    MetricValue,
    Outcome,
    RunReadError,
    RunResult,
    read_metrics,
    read_outcomes,
)

TP = ("suites/test_w.py::test_write[5000]", "write points/s")
LAT = ("suites/test_q.py::test_query", "query latency p50")


def run(side: str, i: int, figures: dict[tuple[str, str], tuple[float, str, str]],
        outcomes: dict[str, Outcome] | None = None) -> RunResult:
    metrics = {k: MetricValue(v, unit, direction)  # type: ignore[arg-type]
               for k, (v, unit, direction) in figures.items()}
    return RunResult(side, i, metrics, outcomes or {}, 0)


def pairs_of(base: dict[tuple[str, str], list[float]], head: dict[tuple[str, str], list[float]],
             units: dict[tuple[str, str], tuple[str, str]] | None = None,
             ) -> list[tuple[RunResult, RunResult]]:
    units = units or {}

    def meta(key: tuple[str, str]) -> tuple[str, str]:
        return units.get(key) or (("points/s", "higher") if key[1].endswith("/s")
                                  else ("ms", "lower"))
    n = len(next(iter(base.values())))
    return [(run("base", i, {k: (v[i], *meta(k)) for k, v in base.items()}),
             run("head", i, {k: (v[i], *meta(k)) for k, v in head.items()}))
            for i in range(n)]


BASE = [100.0, 102.0, 98.0, 101.0, 99.0]


def test_a_clear_slowdown_is_a_regression_with_its_change() -> None:
    head = [b * 0.85 * f for b, f in zip(BASE, [1.0, 1.01, 0.99, 1.0, 1.005], strict=True)]
    verdict = judge(pairs_of({TP: BASE}, {TP: head}))
    (m,) = verdict.metrics
    assert m.status == "regression"
    # geometric mean of head/base: 0.85 * (1.01 * 0.99 * 1.005) ** (1/5)
    expected = 0.85 * (1.01 * 0.99 * 1.005) ** 0.2 - 1
    assert m.change == pytest.approx(expected)
    assert m.test is not None and m.test.low < expected < m.test.high
    assert verdict.exit_code == 1 and "1 regression" in verdict.headline()


def test_a_real_change_below_the_threshold_passes() -> None:
    head = [b * 0.97 for b in BASE]  # 3 % slower in every pair: certain, but small
    verdict = judge(pairs_of({TP: BASE}, {TP: head}), GateSettings(threshold=0.05))
    assert verdict.metrics[0].status == "pass"
    assert verdict.metrics[0].test is not None and verdict.metrics[0].test.p_worse == 0.0
    assert verdict.exit_code == 0
    # ... and the same change fails a gate whose threshold is 2 %.
    strict = judge(pairs_of({TP: BASE}, {TP: head}), GateSettings(threshold=0.02))
    assert strict.metrics[0].status == "regression"


def test_a_large_change_within_the_noise_of_the_pairs_passes() -> None:
    # -14 % on average, but all over the place
    head = [b * f for b, f in zip(BASE, [0.6, 1.3, 0.7, 1.2, 0.75], strict=True)]
    verdict = judge(pairs_of({TP: BASE}, {TP: head}))
    m = verdict.metrics[0]
    assert m.change is not None and m.change < -0.05
    assert m.status == "pass" and verdict.exit_code == 0


def test_latency_up_is_worse_and_latency_down_an_improvement() -> None:
    up = judge(pairs_of({LAT: BASE}, {LAT: [b * 1.3 for b in BASE]}))
    down = judge(pairs_of({LAT: BASE}, {LAT: [b * 0.7 for b in BASE]}))
    assert up.metrics[0].status == "regression"
    assert down.metrics[0].status == "improvement" and down.exit_code == 0


def test_tails_are_reported_not_gated() -> None:
    tail = ("suites/test_q.py::test_query", "query latency p99")
    verdict = judge(pairs_of({tail: BASE}, {tail: [b * 3 for b in BASE]}))
    assert verdict.metrics[0].status == "tail"
    assert verdict.exit_code == 0


def test_the_family_adjustment_absorbs_one_lucky_metric_among_many() -> None:
    # Alone, a 20 % drop with these pairs has p_worse about 0.003 (scipy: ttest_1samp of
    # the log-ratios, 4 dof): significant at 0.01. Beside 99 unchanged metrics (p = 0.5)
    # BH needs p <= 0.01 * 1/100 for the smallest: no longer significant.
    noisy = [0.8 * f for f in (1.0, 0.9, 1.1, 0.95, 1.05)]
    key = ("suites/test_w.py::test_lucky", "write points/s")
    alone = judge(pairs_of({key: BASE}, {key: [b * f for b, f in zip(BASE, noisy, strict=True)]}))
    assert alone.metrics[0].status == "regression"
    from scipy import stats
    ratios = [math.log(f) for f in noisy]
    p = stats.ttest_1samp(ratios, 0.0, alternative="less").pvalue
    assert alone.metrics[0].test is not None
    assert alone.metrics[0].test.p_worse == pytest.approx(p)

    base = {key: BASE}
    head = {key: [b * f for b, f in zip(BASE, noisy, strict=True)]}
    for i in range(99):
        other = (f"suites/test_w.py::test_flat[{i}]", "flat ms")
        base[other] = [10.0, 11.0, 9.0, 10.0, 10.0]
        head[other] = [10.0, 11.0, 9.0, 10.0, 10.0]
    for method in ("bh", "holm"):
        crowded = judge(pairs_of(base, head), GateSettings(adjustment=method))  # type: ignore[arg-type]
        lucky = next(m for m in crowded.metrics if m.benchmark.endswith("test_lucky"))
        assert lucky.status == "pass", method
        assert lucky.p_adjusted == pytest.approx(min(1.0, p * 100), rel=1e-6)


def test_throughput_index_is_the_geometric_mean_of_the_pairs_ratios() -> None:
    a = ("suites/test_w.py::test_a", "write points/s")
    b = ("suites/test_w.py::test_b", "query queries/s")
    base = {a: [100.0, 100.0, 100.0], b: [10.0, 10.0, 10.0]}
    head = {a: [90.0, 92.0, 88.0], b: [8.0, 8.5, 8.2]}
    pairs = pairs_of(base, head, {b: ("queries/s", "higher")})
    # per pair: -(ln(0.90) + ln(0.80)) / 2, ...
    expected = [-(math.log(0.90) + math.log(0.80)) / 2, -(math.log(0.92) + math.log(0.85)) / 2,
                -(math.log(0.88) + math.log(0.82)) / 2]
    assert pair_indices([p[0] for p in pairs], [p[1] for p in pairs]) == pytest.approx(expected)
    verdict = judge(pairs)
    assert verdict.index is not None
    assert verdict.index.change == pytest.approx(math.exp(-sum(expected) / 3) - 1)
    assert verdict.index.status == "regression"
    assert verdict.regressions[0] is verdict.index


def test_index_leaves_out_metrics_missing_from_a_run() -> None:
    a = ("suites/test_w.py::test_a", "write points/s")
    b = ("suites/test_w.py::test_b", "write points/s")
    c = ("suites/test_w.py::test_c", "write points/s")
    pairs = pairs_of({a: [100.0] * 3, b: [100.0] * 3}, {a: [50.0] * 3, b: [50.0] * 3})
    pairs[1][1].metrics[c] = MetricValue(1.0, "points/s", "higher")  # only one head run
    verdict = judge(pairs)
    assert verdict.index is not None and verdict.index.metric.endswith("of 2 throughputs")
    assert verdict.index.change == pytest.approx(-0.5)


def test_added_and_removed_metrics_are_listed_not_judged() -> None:
    old = ("suites/test_w.py::test_old", "write points/s")
    new = ("suites/test_w.py::test_new", "write points/s")
    verdict = judge(pairs_of({TP: BASE, old: BASE}, {TP: BASE, new: BASE}))
    status = {m.benchmark: m.status for m in verdict.metrics}
    assert status[old[0]] == "removed" and status[new[0]] == "added"
    assert verdict.exit_code == 0


def test_a_test_that_fails_only_on_the_head_is_broken_by_it() -> None:
    ok: dict[str, Outcome] = {"suites.test_w::test_a": "passed", "suites.test_w::test_b": "failed",
                              "suites.test_w::test_gone": "passed"}
    bad: dict[str, Outcome] = {"suites.test_w::test_a": "failed", "suites.test_w::test_b": "failed",
                               "suites.test_w::test_new": "passed"}
    ok_head = {k: v for k, v in ok.items() if k != "suites.test_w::test_gone"}
    pairs = [(run("base", i, {}, dict(ok)), run("head", i, {}, bad if i == 1 else dict(ok_head)))
             for i in range(3)]
    verdict = judge(pairs)
    by_test = {t.test: t for t in verdict.tests}
    assert by_test["suites.test_w::test_a"].status == "broken by head"
    assert (by_test["suites.test_w::test_a"].head_failed,
            by_test["suites.test_w::test_a"].head_runs) == (1, 3)
    assert by_test["suites.test_w::test_b"].status == "failing on both"
    assert by_test["suites.test_w::test_new"].status == "added"
    assert by_test["suites.test_w::test_gone"].status == "removed"
    assert verdict.exit_code == 1 and "broken by the head" in verdict.headline()


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="threshold"):
        GateSettings(threshold=-0.1)
    with pytest.raises(ValueError, match="alpha"):
        GateSettings(alpha=0.0)
    with pytest.raises(ValueError, match="adjustment"):
        GateSettings(adjustment="none")  # type: ignore[arg-type]


def test_reports_carry_the_verdict() -> None:
    head = [b * 0.8 for b in BASE]
    verdict = judge(pairs_of({TP: BASE, LAT: BASE}, {TP: head, LAT: BASE}))
    header = {"base": "main (abc)", "head": "working tree", "notes": ["dirty"]}
    data = to_dict(verdict, header)
    assert data["verdict"] == "fail" and data["pairs"] == 5
    assert {m["status"] for m in data["metrics"]} == {"regression", "pass"}
    md = to_markdown(verdict, header)
    assert "❌" in md
    assert "| `test_w::test_write[5000]` | write points/s | 100 | 80.0 | -20% |" in md
    lines = terminal_lines(verdict, header)
    assert lines[-1].startswith("gate FAILED over 5 pairs: 1 regression")
    assert any("test_w::test_write[5000]" in line and "regression" in line for line in lines)
    csv_rows = to_csv(verdict).splitlines()
    assert csv_rows[0].startswith("benchmark,metric,unit,direction,base,head,change")
    assert len(csv_rows) == 3  # header + 2 metrics (one throughput: no index)


def test_run_files_are_read_and_bad_ones_named(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    report.write_text('{"benchmarks": {"a.py::t": {"metrics": {'
                      '"w points/s": {"value": 5, "unit": "points/s", "direction": "higher"},'
                      '"bad": {"value": "x", "direction": "higher"},'
                      '"odd": {"value": 1, "direction": "sideways"}}}}}')
    assert read_metrics(report) == {("a.py::t", "w points/s"):
                                    MetricValue(5.0, "points/s", "higher")}
    junit = tmp_path / "j.xml"
    junit.write_text('<testsuites><testsuite><testcase classname="s.t" name="a"/>'
                     '<testcase classname="s.t" name="b"><failure/></testcase>'
                     '<testcase classname="s.t" name="c"><skipped/></testcase>'
                     '<testcase classname="s.t" name="d"/><testcase classname="s.t" name="d">'
                     '<error/></testcase></testsuite></testsuites>')
    assert read_outcomes(junit) == {"s.t::a": "passed", "s.t::b": "failed", "s.t::c": "skipped",
                                    "s.t::d": "failed"}
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(RunReadError, match="broken.json"):
        read_metrics(tmp_path / "broken.json")
    with pytest.raises(RunReadError, match="nope.xml"):
        read_outcomes(tmp_path / "nope.xml")


def noisy_family(shift: float, seed: int) -> list[tuple[RunResult, RunResult]]:
    """40 write rates with about 10 % pair-to-pair noise, the first shifted by ``shift``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    base: dict[tuple[str, str], list[float]] = {}
    head: dict[tuple[str, str], list[float]] = {}
    for i in range(40):
        key = (f"suites/test_w.py::test_rate[{i}]", "write points/s")
        base[key] = [1000.0] * 5
        factor = (1 + shift) if i == 0 else 1.0
        head[key] = [1000.0 * factor * float(np.exp(rng.normal(0, 0.10))) for _ in range(5)]
    return pairs_of(base, head)


def test_moderation_lends_power_the_five_pairs_of_one_metric_lack() -> None:
    # A 30 % drop, noise 10 %: on 4 dof alone its p-value cannot survive a family of 40;
    # with the family's variance (40 metrics, ~160 dof) it does.
    pairs = noisy_family(-0.30, seed=3)
    plain = judge(pairs, GateSettings(moderate=False))
    moderated = judge(pairs, GateSettings(moderate=True))
    first = "suites/test_w.py::test_rate[0]"
    status = {m.benchmark: m.status for m in moderated.metrics}
    assert next(m.status for m in plain.metrics if m.benchmark == first) == "pass"
    assert status[first] == "regression"
    assert [b for b, s in status.items() if s == "regression"] == [first]
    test = next(m.test for m in moderated.metrics if m.benchmark == first)
    assert test is not None and test.dof > 4


@pytest.mark.parametrize("seed", range(5))
def test_moderation_raises_no_alarm_in_a_family_without_change(seed: int) -> None:
    verdict = judge(noisy_family(0.0, seed=seed), GateSettings(moderate=True))
    assert [m for m in verdict.metrics if m.status in ("regression", "improvement")] == []


A_TP = ("suites/test_w.py::test_a", "write points/s")
B_TP = ("suites/test_w.py::test_b", "write points/s")


def test_a_faster_head_is_an_index_improvement_and_a_flat_one_passes() -> None:
    base = {A_TP: [100.0, 101.0, 99.0], B_TP: [50.0, 50.5, 49.5]}
    faster = {A_TP: [120.0, 122.0, 118.0], B_TP: [60.0, 61.0, 59.0]}
    verdict = judge(pairs_of(base, faster))
    assert verdict.index is not None and verdict.index.status == "improvement"
    assert verdict.index.test is not None
    assert verdict.index.p_adjusted == verdict.index.test.p_better
    assert verdict.index.change == pytest.approx(0.2, abs=0.01)
    assert (verdict.index.base, verdict.index.head) == (1.0, pytest.approx(1.2, abs=0.01))
    assert verdict.index.metric == "throughput index of 2 throughputs"
    assert verdict.exit_code == 0
    flat = judge(pairs_of(base, {k: [v * 1.01 for v in vs] for k, vs in base.items()}))
    assert flat.index is not None and flat.index.status == "pass"
    assert flat.index.p_adjusted == pytest.approx(flat.index.test.p_worse)  # type: ignore[union-attr]
    one = judge(pairs_of({A_TP: [100.0] * 3}, {A_TP: [50.0] * 3}))
    assert one.index is None  # one throughput is not an index


def test_index_needs_the_threshold_and_its_own_alpha() -> None:
    base = {A_TP: [100.0, 100.0, 100.0, 100.0], B_TP: [100.0, 100.0, 100.0, 100.0]}
    # -8 % in every pair but one noisy pair: significant at 0.05, not at 0.01.
    head = {A_TP: [92.0, 91.0, 93.0, 99.0], B_TP: [92.0, 93.0, 91.0, 98.0]}
    loose = judge(pairs_of(base, head), GateSettings(index_alpha=0.05))
    strict = judge(pairs_of(base, head), GateSettings(index_alpha=0.001))
    assert loose.index is not None and strict.index is not None
    assert loose.index.test is not None and 0.001 < loose.index.test.p_worse <= 0.05
    assert loose.index.status == "regression" and strict.index.status == "pass"
    high = judge(pairs_of(base, head), GateSettings(threshold=0.10, index_alpha=0.05))
    assert high.index is not None and high.index.status == "pass"


def test_verdict_to_dict_and_counts_and_headline() -> None:
    verdict = judge(pairs_of({TP: BASE, LAT: BASE}, {TP: BASE, LAT: [b * 1.5 for b in BASE]}))
    lat = next(m for m in verdict.metrics if m.metric == LAT[1])
    data = lat.to_dict()
    assert data["benchmark"] == LAT[0] and data["metric"] == LAT[1]
    assert (data["unit"], data["direction"], data["status"]) == ("ms", "lower", "regression")
    assert (data["base"], data["head"]) == (pytest.approx(100.0), pytest.approx(150.0))
    assert data["change"] == pytest.approx(0.5) and data["pairs"] == 5
    assert data["low"] == pytest.approx(0.5) and data["high"] == pytest.approx(0.5)
    assert data["p_worse"] == 0.0 and data["p_adjusted"] == 0.0
    assert data["pair_sd"] == pytest.approx(0.0, abs=1e-9)
    assert verdict.counts() == {"pass": 1, "regression": 1}
    calm = judge(pairs_of({TP: BASE, LAT: BASE}, {TP: BASE, LAT: BASE}))
    assert calm.counts() == {"pass": 2}
    assert calm.headline() == ("gate passed over 5 pairs: 2 metric(s) judged, none worse than "
                               "5% beyond the noise of the pairs")
    assert verdict.headline() == "gate FAILED over 5 pairs: 1 regression(s)"
    assert not calm.failed and calm.exit_code == 0 and calm.regressions == []


@pytest.mark.parametrize("kwargs", [
    {"threshold": 1.0}, {"threshold": -0.01}, {"alpha": 0.5}, {"index_alpha": 0.0},
    {"index_alpha": 0.5}, {"level": 0.49}, {"level": 1.0}, {"adjustment": "x"}])
def test_settings_bounds(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        GateSettings(**kwargs)  # type: ignore[arg-type]


def test_settings_edges_are_accepted() -> None:
    s = GateSettings(threshold=0.0, alpha=0.49, index_alpha=0.001, level=0.5, adjustment="holm")
    assert (s.threshold, s.alpha, s.index_alpha, s.level) == (0.0, 0.49, 0.001, 0.5)


def test_the_forest_plot_is_a_png_with_a_row_per_moved_metric(tmp_path: Path) -> None:
    import struct

    from pytest_influxperf.paired.report import plot

    few = judge(pairs_of({TP: BASE, LAT: BASE}, {TP: [b * 0.8 for b in BASE], LAT: BASE}))
    many_base = {(f"suites/test_w.py::test_{i}", "write points/s"): BASE for i in range(20)}
    many = judge(pairs_of(many_base, {k: [b * 0.9 for b in v] for k, v in many_base.items()}))
    heights = []
    for name, verdict in (("few", few), ("many", many)):
        path = plot(verdict, tmp_path / name)
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        heights.append(struct.unpack(">II", head[16:24])[1])
    assert heights[1] > heights[0]  # one row per metric: 21 rows are taller than 3
