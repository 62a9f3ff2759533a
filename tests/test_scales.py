"""Scale sizes: the guide's sizes at ``small``, growth at medium/large, bounds everywhere."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_influxperf import scales
from pytest_influxperf.scales import DAY_S, SCALES, Scale


def test_the_four_scales_of_the_option_exist():
    assert list(SCALES) == ["smoke", "small", "medium", "large"]


def test_small_matches_the_guide():
    small = scales.get("small")
    assert small.write_points == 100_000          # 8.2's benchmark writes 100,000 points
    assert small.batch_sizes == (100, 500, 1_000, 5_000, 10_000, 20_000)
    assert small.workers == (1, 2, 4, 8)
    assert small.query_span_s >= 7 * DAY_S         # the 7-day window of 8.3


def test_medium_and_large_grow_about_10x_and_100x():
    small, medium, large = (scales.get(n) for n in ("small", "medium", "large"))
    for attr in ("write_points", "query_points"):
        assert 5 <= getattr(medium, attr) / getattr(small, attr) <= 20, attr
        assert 50 <= getattr(large, attr) / getattr(small, attr) <= 200, attr
    assert large.query_span_s > medium.query_span_s > small.query_span_s


def test_smoke_is_the_smallest():
    smoke = scales.get("smoke")
    for other in ("small", "medium", "large"):
        assert smoke.write_points < scales.get(other).write_points
        assert smoke.query_points < scales.get(other).query_points


def test_every_batch_size_fits_in_the_write_points():
    for scale in SCALES.values():
        assert max(scale.batch_sizes) <= scale.write_points, scale.name
        assert scale.pooling_batch < scale.pooling_points


def test_unknown_scale_is_a_clear_error():
    with pytest.raises(ValueError, match="use one of smoke, small, medium, large"):
        scales.get("huge")


def test_scale_rejects_non_positive_sizes_and_short_spans():
    base = dataclasses.asdict(scales.get("smoke"))
    with pytest.raises(ValueError, match="rounds must be positive"):
        Scale(**{**base, "rounds": 0})
    with pytest.raises(ValueError, match="at least 7 days"):
        Scale(**{**base, "query_span_s": DAY_S})
