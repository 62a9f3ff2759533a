"""The claims registry: every claim is well formed, and each rule gives the verdicts its
docstring promises at and around its thresholds."""

from __future__ import annotations

import math
import re

import pytest

from pytest_influxperf.bench import claims
from pytest_influxperf.bench.claims import CLAIMS, VERDICTS, Claim, UnknownClaim, judge


def test_every_claim_names_its_section_and_quotes_the_guide():
    guide_sections = {"8.1", "8.2", "8.3", "8.7", "8.8", "8.10", "takeaways"}
    for claim_id, claim in CLAIMS.items():
        assert claim.id == claim_id
        assert claim.section in guide_sections, claim_id
        assert claim_id.startswith(claim.section if claim.section != "takeaways" else "takeaway")
        assert claim.quote and claim.compares and claim.measured_as


def test_registry_covers_the_issue_list():
    wanted = ["8.1/batch-optimum", "8.2/parallel-4", "8.2/parallel-8", "8.2/pooling",
              "8.2/gzip-ratio", "8.3/time-filter", "8.3/projection", "8.8/ap3-select-star",
              "8.3/aggregation-pushdown", "8.8/ap4-client-side", "8.3/window-1h-rows",
              "8.3/window-24h-rows", "8.3/window-7d-rows", "8.8/ap5-single-point",
              "8.1/compression", "8.10/small", "8.10/medium", "8.10/large", "8.10/clustered"]
    assert [w for w in wanted if w not in CLAIMS] == []


def test_batch_table_ratios_are_the_guides_rows_over_batch_100():
    assert CLAIMS["8.2/batch-5000"].low == pytest.approx(19231 / 3922)
    assert CLAIMS["8.2/batch-20000"].low < CLAIMS["8.2/batch-10000"].low


def test_window_row_counts_follow_from_the_windows():
    # the guide's own arithmetic: range / bucket width
    assert CLAIMS["8.3/window-1h-rows"].low == 3600 / 10
    assert CLAIMS["8.3/window-24h-rows"].low == 24 * 3600 / 300
    assert CLAIMS["8.3/window-7d-rows"].low == 7 * 24


@pytest.mark.parametrize("measured, kind", [
    (7.0, "holds"), (6.4, "holds"),        # within the 10 % tolerance
    (6.2, "weaker"), (1.01, "weaker"),     # same direction, smaller
    (1.0, "contradicted"), (0.5, "contradicted"),
])
def test_at_least_ratio(measured, kind):
    assert judge("8.2/gzip-ratio", measured).kind == kind


@pytest.mark.parametrize("measured, kind", [(12_000, "holds"), (9_500, "holds"),
                                            (3_000, "weaker")])
def test_hardware_rate_short_of_the_figure_is_weaker_not_contradicted(measured, kind):
    assert judge("8.10/small", measured).kind == kind


@pytest.mark.parametrize("measured, kind", [(3.0, "holds"), (10.9, "holds"), (20, "weaker"),
                                            (25, "contradicted")])
def test_at_most_latency(measured, kind):
    assert judge("8.1/write-latency-p99", measured).kind == kind


@pytest.mark.parametrize("measured, kind", [
    (5_000, "holds"), (10_000, "holds"), (20_000, "weaker"), (1_000, "contradicted"),
    (500, "contradicted")])
def test_within_batch_optimum(measured, kind):
    assert judge("8.1/batch-optimum", measured).kind == kind


@pytest.mark.parametrize("measured, kind", [(5, "holds"), (40, "holds"), (2, "weaker"),
                                            (1.2, "weaker"), (1.0, "contradicted"),
                                            (0.8, "contradicted")])
def test_within_open_above_compression(measured, kind):
    assert judge("8.1/compression", measured).kind == kind


def test_a_speedup_range_and_its_single_figure_agree_below_the_range():
    # the same measurement judges "100x" (8.3) and "100-1000x" (takeaways) alike
    assert judge("8.3/time-filter", 2.5).kind == judge("takeaway/time-filter", 2.5).kind \
        == "weaker"
    assert judge("8.1/compaction", 30).kind == "weaker"
    assert judge("8.1/compaction", -5).kind == "contradicted"


@pytest.mark.parametrize("measured, kind", [(360, "holds"), (361, "weaker"), (720, "contradicted")])
def test_equal_row_counts(measured, kind):
    assert judge("8.3/window-1h-rows", measured).kind == kind


@pytest.mark.parametrize("measured, kind", [(3.0, "holds"), (1.05, "weaker"), (1.0, "contradicted"),
                                            (0.8, "contradicted")])
def test_direction_only(measured, kind):
    assert judge("8.3/tag-index", measured).kind == kind


def test_verdict_text_shows_claimed_and_measured():
    verdict = judge("8.8/ap5-single-point", 120)
    assert verdict.kind == "weaker" and not verdict.holds
    assert "measured 120x" in verdict.text and ">= 500x" in verdict.text
    assert judge("8.8/ap5-single-point", 900).holds


def test_nan_is_contradicted_not_an_error():
    assert judge("8.2/pooling", math.nan).kind == "contradicted"


def test_unknown_claim_names_near_ids():
    with pytest.raises(UnknownClaim, match=r"8\.2/pooling"):
        judge("8.2/poolng", 3)


def test_claim_rejects_a_rule_without_its_figure():
    with pytest.raises(ValueError, match="needs its figure"):
        Claim("x", "8.1", "a", "b", "at_least", "x", "q")
    with pytest.raises(ValueError, match="rule must be one of"):
        Claim("x", "8.1", "a", "b", "roughly", "x", "q", low=1)


def test_table_rows():
    rows = claims.table([("8.2/gzip-ratio", 7.5), ("8.3/window-7d-rows", 168)])
    assert rows[0][2] == ">= 7x" and rows[0][4] == "holds"
    assert rows[1][3] == "168 rows"
    assert all(r[4] in VERDICTS for r in rows)


def test_every_claim_judges_its_own_figure_as_holding():
    for claim in CLAIMS.values():
        figure = claim.low if claim.low is not None else (claim.high or 2.0)
        assert claim.judge(figure).kind == "holds", claim.id
        assert re.match(r"holds: measured ", claim.judge(figure).text)


def test_format_table_aligns_columns_and_keeps_details():
    lines = claims.format_table([("8.2/gzip-ratio", 9.25, "TSBS cpu"),
                                 ("8.3/window-1h-rows", 360, ""), ("8.9/nope", 1, "x")])
    assert lines[0].startswith("claim")
    assert len({line.index("guide says") if i == 0 else None for i, line in enumerate(lines)}) == 2
    assert ">= 7x" in lines[1] and "9.25x" in lines[1] and "holds" in lines[1]
    assert lines[1].endswith("TSBS cpu")
    assert "unknown claim" in lines[3]
    # columns line up: the verdict column starts at the same offset on every row
    starts = {line.index(word) for line, word in zip(lines[1:3], ("holds", "holds"))}
    assert len(starts) == 1


def test_gzip_savings_is_the_ratio_seen_as_bandwidth():
    # the guide's 7x ratio is 85.7 % saved: its two figures agree
    assert judge("8.2/gzip-savings", 100 * (1 - 1 / 7)).kind == "holds"
    assert judge("8.2/gzip-savings", 50).kind == "weaker"
