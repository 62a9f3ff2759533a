"""Random walks: the vectorised clamped walk equals the tick-by-tick definition."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_influxperf.series.walks import clamped_walk, free_walk, monotonic_walk


def reference(steps: np.ndarray, start: np.ndarray, lo: float, hi: float) -> np.ndarray:
    out = np.empty(steps.shape)
    state = np.clip(start.astype(float), lo, hi)
    for t in range(steps.shape[0]):
        state = np.clip(state + steps[t], lo, hi)
        out[t] = state
    return out


@pytest.mark.parametrize(("paths", "mean", "std", "lo", "hi", "block"), [
    (3, 0.0, 1.0, 0.0, 100.0, None),     # few paths: long blocks
    (300, 0.0, 1.0, 0.0, 100.0, None),   # many paths: short blocks
    (20, 5.0, 1.0, 0.0, 1000.0, 64),     # drifts into the upper bound and sticks there
    (20, -5.0, 1.0, 0.0, 1000.0, 64),    # sticks at the lower bound
    (20, 0.0, 30.0, 0.0, 40.0, 256),     # touches both bounds within one block
])
def test_clamped_walk_is_exact(paths, mean, std, lo, hi, block):
    rng = np.random.default_rng(paths)
    steps = rng.normal(mean, std, (3000, paths))
    start = rng.uniform(lo, hi, paths)
    got = clamped_walk(steps, start, lo, hi, block=block)
    np.testing.assert_allclose(got, reference(steps, start, lo, hi), rtol=0, atol=1e-9)
    assert got.min() >= lo and got.max() <= hi


def test_clamped_walk_float32_stays_in_bounds():
    rng = np.random.default_rng(1)
    steps = rng.standard_normal((20_000, 10), dtype=np.float32)
    start = (rng.random(10) * 100).astype(np.float32)
    got = clamped_walk(steps, start, 0.0, 100.0, dtype=np.float32)
    assert got.dtype == np.float32 and got.min() >= 0 and got.max() <= 100
    np.testing.assert_allclose(got, reference(steps.astype(float), start.astype(float), 0, 100), atol=1e-2)


def test_monotonic_and_free_walks():
    steps = np.array([[1.0], [-2.0], [3.0]])
    assert monotonic_walk(steps, 10.0).ravel().tolist() == [11.0, 13.0, 16.0]
    assert free_walk(steps, 10.0).ravel().tolist() == [11.0, 9.0, 12.0]
