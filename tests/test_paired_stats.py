"""The paired gate's arithmetic, against oracles that do not come from the code under test:
closed forms of Student's t, printed t tables, the worked example of Benjamini & Hochberg
(1995), hand computations, and scipy's own t-test and FDR control in property tests."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_influxperf.paired.stats import (
    MAX_DOF,
    VariancePrior,
    adjust,
    drift_cancelling_order,
    fit_variance_prior,
    paired_test,
    t_quantile,
    t_sf,
    worse_log_ratios,
)


# -- Student's t: closed forms (1 and 2 degrees of freedom) and printed tables ------------
@pytest.mark.parametrize("t", [0.0, 0.5, 1.0, 3.0, 12.7])
def test_t_sf_one_dof_is_the_cauchy_tail(t: float) -> None:
    assert t_sf(t, 1) == pytest.approx(0.5 - math.atan(t) / math.pi, abs=1e-12)


@pytest.mark.parametrize("t", [0.0, 0.7, 2.0, 3.4641, 9.9])
def test_t_sf_two_dof_closed_form(t: float) -> None:
    assert t_sf(t, 2) == pytest.approx(0.5 - t / (2 * math.sqrt(t * t + 2)), abs=1e-12)


# One-sided critical values from a printed t table (e.g. NIST/SEMATECH e-Handbook, 1.3.6.7.2).
T_TABLE = [(1, 0.05, 6.314), (2, 0.05, 2.920), (4, 0.05, 2.132), (4, 0.01, 3.747),
           (9, 0.01, 2.821), (9, 0.025, 2.262), (19, 0.01, 2.539), (3, 0.005, 5.841)]


@pytest.mark.parametrize(("dof", "tail", "critical"), T_TABLE)
def test_t_quantile_and_sf_match_the_printed_table(dof: int, tail: float,
                                                   critical: float) -> None:
    assert t_quantile(1 - tail, dof) == pytest.approx(critical, abs=0.0015)
    assert t_sf(critical, dof) == pytest.approx(tail, rel=0.01)


# -- log-ratios in the metric's direction ---------------------------------------------------
def test_worse_log_ratios_sign_follows_the_direction() -> None:
    # points/s 100 -> 80 is worse; latency 100 -> 80 ms is better.
    assert worse_log_ratios([100.0], [80.0], "higher") == [pytest.approx(math.log(100 / 80))]
    assert worse_log_ratios([100.0], [80.0], "lower") == [pytest.approx(math.log(80 / 100))]


def test_worse_log_ratios_skip_pairs_without_two_positive_figures() -> None:
    base = [100.0, 0.0, 100.0, float("nan"), -5.0, 100.0]
    head = [50.0, 10.0, float("inf"), 100.0, 10.0, 200.0]
    assert worse_log_ratios(base, head, "lower") == pytest.approx([math.log(0.5), math.log(2)])


def test_worse_log_ratios_refuse_unaligned_pairs() -> None:
    with pytest.raises(ValueError, match="line up"):
        worse_log_ratios([1.0, 2.0], [1.0], "higher")


# -- the paired t-test, by hand ------------------------------------------------------------
def test_paired_test_hand_computed_three_pairs() -> None:
    # worse = 0.1, 0.2, 0.3: mean 0.2, sd 0.1, se 0.1/sqrt(3), t = 2*sqrt(3) = 3.4641, 2 dof
    # p = 0.5 - t / (2 sqrt(t^2 + 2)) = 0.037090; 95% half-width 4.3027 * se = 0.248418.
    result = paired_test([0.1, 0.2, 0.3], "lower", level=0.95)
    assert result is not None
    assert result.pairs == 3
    assert result.pair_sd == pytest.approx(0.1)
    assert result.p_worse == pytest.approx(0.037090, abs=2e-6)
    assert result.p_better == pytest.approx(1 - 0.037090, abs=2e-6)
    assert result.change == pytest.approx(math.exp(0.2) - 1)  # latency up 22.1 %
    assert result.low == pytest.approx(math.exp(0.2 - 0.248418) - 1, abs=1e-5)
    assert result.high == pytest.approx(math.exp(0.2 + 0.248418) - 1, abs=1e-5)


def test_paired_test_higher_is_better_flips_the_change_not_the_p_value() -> None:
    lower = paired_test([0.1, 0.2, 0.3], "lower")
    higher = paired_test([0.1, 0.2, 0.3], "higher")
    assert lower is not None and higher is not None
    assert higher.p_worse == pytest.approx(lower.p_worse)
    assert higher.change == pytest.approx(math.exp(-0.2) - 1)  # points/s down 18.1 %
    assert higher.low == pytest.approx(math.exp(-0.2 - 0.248418) - 1, abs=1e-5)
    assert higher.high == pytest.approx(math.exp(-0.2 + 0.248418) - 1, abs=1e-5)


def test_paired_test_needs_two_pairs() -> None:
    assert paired_test([], "higher") is None
    assert paired_test([0.3], "higher") is None


@pytest.mark.parametrize(("worse", "p_worse", "p_better"), [
    ([0.1, 0.1, 0.1], 0.0, 1.0), ([-0.1, -0.1], 1.0, 0.0), ([0.0, 0.0, 0.0], 0.5, 0.5)])
def test_identical_pairs_are_certain(worse: list[float], p_worse: float,
                                     p_better: float) -> None:
    result = paired_test(worse, "lower")
    assert result is not None
    assert (result.p_worse, result.p_better) == (p_worse, p_better)
    assert result.low == result.high == pytest.approx(result.change)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=2, max_size=30)
       .filter(lambda xs: max(xs) - min(xs) > 1e-6))
def test_p_worse_agrees_with_scipy_ttest_1samp(worse: list[float]) -> None:
    from scipy import stats

    expected = stats.ttest_1samp(worse, 0.0, alternative="greater").pvalue
    result = paired_test(worse, "lower")
    assert result is not None
    assert result.p_worse == pytest.approx(float(expected), abs=1e-9)
    assert result.p_worse + result.p_better == pytest.approx(1.0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.floats(0.5, 2.0), min_size=2, max_size=12),
       st.floats(0.2, 5.0))
def test_scale_invariance_and_direction_symmetry(ratios: list[float], scale: float) -> None:
    base = [100.0] * len(ratios)
    head = [100.0 * r for r in ratios]
    one = paired_test(worse_log_ratios(base, head, "lower"), "lower")
    scaled = paired_test(worse_log_ratios([b * scale for b in base],
                                          [h * scale for h in head], "lower"), "lower")
    swapped = paired_test(worse_log_ratios(head, base, "lower"), "lower")
    assert one is not None and scaled is not None and swapped is not None
    assert scaled.p_worse == pytest.approx(one.p_worse, abs=1e-9)
    assert scaled.change == pytest.approx(one.change, rel=1e-9, abs=1e-12)
    # Head and base swapped: "worse" becomes "better", the change its reciprocal.
    assert swapped.p_worse == pytest.approx(one.p_better, abs=1e-9)
    assert 1 + swapped.change == pytest.approx(1 / (1 + one.change), rel=1e-9)


# -- family-wise control -------------------------------------------------------------------
# Benjamini & Hochberg (1995), section 4: 15 p-values; at q = 0.05 the step-up rule rejects
# the four smallest, Bonferroni-Holm (by hand: 0.0095 > 0.05/12) the three smallest.
BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
           0.4262, 0.5719, 0.6528, 0.7590, 1.0000]


def test_benjamini_hochberg_worked_example() -> None:
    assert sum(p <= 0.05 for p in adjust(BH_1995, "bh")) == 4


def test_holm_worked_example() -> None:
    assert sum(p <= 0.05 for p in adjust(BH_1995, "holm")) == 3


def test_adjust_by_hand_keeps_the_input_order() -> None:
    # BH: sorted 0.01, 0.03, 0.04 -> 0.04*3/3, min(0.03*3/2, 0.04), min(0.01*3, 0.04).
    assert adjust([0.01, 0.04, 0.03], "bh") == pytest.approx([0.03, 0.04, 0.04])
    # Holm: 3*0.01, max(2*0.03, 0.03), max(1*0.04, 0.06).
    assert adjust([0.01, 0.04, 0.03], "holm") == pytest.approx([0.03, 0.06, 0.06])
    assert adjust([0.5, 0.9], "holm") == pytest.approx([1.0, 1.0])  # capped at 1
    assert adjust([], "bh") == []


def test_adjust_refuses_what_is_not_a_p_value() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust([0.1, 1.5])
    with pytest.raises(ValueError, match="adjustment"):
        adjust([0.1], "bonferroni")  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40))
def test_bh_agrees_with_scipy_false_discovery_control(p_values: list[float]) -> None:
    from scipy import stats

    expected = stats.false_discovery_control(p_values, method="bh")
    assert adjust(p_values, "bh") == pytest.approx(list(expected), abs=1e-12)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40))
def test_holm_is_never_laxer_than_bh_nor_than_the_raw_p(p_values: list[float]) -> None:
    holm, bh = adjust(p_values, "holm"), adjust(p_values, "bh")
    for raw, h, b in zip(p_values, holm, bh, strict=True):
        assert raw <= b + 1e-12 <= h + 2e-12
        assert h <= min(1.0, raw * len(p_values)) + 1e-12  # never stricter than Bonferroni


# -- run order -----------------------------------------------------------------------------
def test_drift_cancelling_order_alternates_who_goes_first() -> None:
    assert drift_cancelling_order(3) == [(0, "base"), (0, "head"), (1, "head"), (1, "base"),
                                         (2, "base"), (2, "head")]


@pytest.mark.parametrize("pairs", [2, 4, 10])
def test_linear_drift_cancels_over_an_even_number_of_pairs(pairs: int) -> None:
    # A machine that gets 1 % slower every run: head and base positions sum to the same.
    order = drift_cancelling_order(pairs)
    position = {side: sum(i for i, (_, s) in enumerate(order) if s == side)
                for side in ("base", "head")}
    assert position["base"] == position["head"]


def test_order_refuses_no_pairs() -> None:
    with pytest.raises(ValueError, match="at least one pair"):
        drift_cancelling_order(0)


# -- moderated variances (limma's empirical Bayes) ------------------------------------------
def test_moderate_is_a_dof_weighted_mean_of_the_two_variances() -> None:
    prior = VariancePrior(variance=0.01, dof=4.0)
    assert prior.moderate(0.04, 4) == pytest.approx((0.025, 8.0))  # (4*.01 + 4*.04) / 8
    assert prior.moderate(0.04, 12) == pytest.approx(((4 * 0.01 + 12 * 0.04) / 16, 16.0))
    flat = VariancePrior(variance=0.02, dof=MAX_DOF)
    assert flat.moderate(0.5, 4) == (0.02, MAX_DOF)


def test_fit_recovers_the_prior_the_variances_were_drawn_from() -> None:
    # Simulate the model: each metric's true variance from a scaled inverse chi-square
    # (s0^2 = 0.01, d0 = 8), its sample variance from 4 degrees of freedom (five pairs).
    import numpy as np

    rng = np.random.default_rng(7)
    true = 0.01 * 8 / rng.chisquare(8, size=20_000)
    sample = true * rng.chisquare(4, size=true.size) / 4
    prior = fit_variance_prior([(float(v), 4) for v in sample])
    assert prior is not None
    assert prior.dof == pytest.approx(8, rel=0.15)
    assert prior.variance == pytest.approx(0.01, rel=0.05)


def test_alike_variances_pool_completely_and_too_few_give_no_prior() -> None:
    # Sample variances that scatter less than 4 dof explain: one shared variance. Its
    # estimate is exp(mean of log s^2 - digamma(2) + log(2)) = v * 2 / e^digamma(2).
    prior = fit_variance_prior([(0.01, 4)] * 5)
    assert prior is not None and prior.dof == MAX_DOF
    assert prior.variance == pytest.approx(0.01 * 2 / math.exp(0.42278433509846713))
    assert fit_variance_prior([(0.01, 4), (0.02, 4)]) is None
    assert fit_variance_prior([(0.0, 4), (0.01, 4), (0.02, 4)]) is None  # zeros are left out


def test_a_moderated_test_uses_the_prior_variance_and_dof() -> None:
    from scipy import stats

    # worse 0.1, 0.2, 0.3: own variance 0.01 on 2 dof; prior 0.04 on 6 dof
    # -> variance (6*0.04 + 2*0.01)/8 = 0.0325 on 8 dof, se = sqrt(0.0325/3).
    result = paired_test([0.1, 0.2, 0.3], "lower", prior=VariancePrior(0.04, 6.0))
    assert result is not None
    se = math.sqrt(0.0325 / 3)
    assert result.dof == 8
    assert result.p_worse == pytest.approx(float(stats.t.sf(0.2 / se, 8)))
    assert result.high == pytest.approx(math.exp(0.2 + float(stats.t.ppf(0.975, 8)) * se) - 1)
