"""Random walks and their relatives, vectorised over many series at once.

Shapes follow TSBS's distributions: a clamped random walk (``CWD``: each step added, then
the state clamped to ``[lo, hi]``, so it sticks at a bound until a step leads away), a
monotonic walk (``MWD``: absolute steps, only upwards) and a free walk (``WD``). All take a
``(ticks, paths)`` array of steps and return the states after each step.
"""

from __future__ import annotations

import numpy as np


def clamped_walk(steps: np.ndarray, start: np.ndarray | float, lo: np.ndarray | float,
                 hi: np.ndarray | float, block: int | None = None, dtype: type = np.float64,
                 out: np.ndarray | None = None) -> np.ndarray:
    """States of ``x[t] = clip(x[t-1] + steps[t], lo, hi)`` for every column of ``steps``.

    Exact, without a Python loop per tick in the usual case. Ticks are taken in blocks.
    Within a block a walk that touches only its lower bound is Lindley's recursion, whose
    closed form is ``S[t] + max(0, max over s <= t of (lo - S[s]))`` with ``S`` the free
    cumulative sum (and the mirror image for the upper bound). Only a walk that touches
    both bounds inside one block is solved again on each half of the block. ``dtype``
    float32 halves the memory where the range is small (percentages).
    """
    ticks, paths = steps.shape
    if block is None:
        # Measured: few wide paths want long blocks, many paths short ones (fewer touch a bound).
        block = int(np.clip(25_600 // max(paths, 1), 64, 2048))
    lo_a = np.broadcast_to(np.asarray(lo, dtype=dtype), (paths,))
    hi_a = np.broadcast_to(np.asarray(hi, dtype=dtype), (paths,))
    if out is None:
        out = np.empty((ticks, paths), dtype=dtype)
    state = np.clip(np.broadcast_to(np.asarray(start, dtype=dtype), (paths,)), lo_a, hi_a)
    for b0 in range(0, ticks, block):
        b1 = min(ticks, b0 + block)
        free = state + np.cumsum(steps[b0:b1], axis=0, dtype=dtype)
        out[b0:b1] = free
        touched = np.flatnonzero((free.min(axis=0) < lo_a) | (free.max(axis=0) > hi_a))
        if touched.size:
            out[b0:b1, touched] = _clamp_block(free[:, touched], state[touched], steps[b0:b1, touched],
                                               lo_a[touched], hi_a[touched])
        state = out[b1 - 1].copy()
    return out


def _clamp_block(free: np.ndarray, state: np.ndarray, steps: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Clamp the walks of one block that left their bounds (see :func:`clamped_walk`).

    A walk that touches both bounds within the block is split in two halves, each solved
    the same way, so the cost stays logarithmic in the block length.
    """
    zero = free.dtype.type(0)
    up = free + np.maximum(zero, np.maximum.accumulate(lo - free, axis=0))
    down = free - np.maximum(zero, np.maximum.accumulate(free - hi, axis=0))
    use_up = up.max(axis=0) <= hi
    use_down = down.min(axis=0) >= lo
    result = np.where(use_up, up, down)
    both = np.flatnonzero(~use_up & ~use_down)
    if both.size:
        n = steps.shape[0]
        b_steps, b_lo, b_hi = steps[:, both], lo[both], hi[both]
        if n == 1:
            result[0, both] = np.minimum(np.maximum(state[both] + b_steps[0], b_lo), b_hi)
            return result
        half = n // 2
        first_free = state[both] + np.cumsum(b_steps[:half], axis=0, dtype=free.dtype)
        first = _clamp_block(first_free, state[both], b_steps[:half], b_lo, b_hi)
        mid = first[-1]
        second_free = mid + np.cumsum(b_steps[half:], axis=0, dtype=free.dtype)
        second = _clamp_block(second_free, mid, b_steps[half:], b_lo, b_hi)
        result[:half, both] = first
        result[half:, both] = second
    return result


def monotonic_walk(steps: np.ndarray, start: np.ndarray | float = 0.0) -> np.ndarray:
    """States of ``x[t] = x[t-1] + |steps[t]|`` (TSBS's counters: bytes sent, requests)."""
    return np.asarray(start, dtype=np.float64) + np.cumsum(np.abs(steps), axis=0)


def free_walk(steps: np.ndarray, start: np.ndarray | float = 0.0) -> np.ndarray:
    """States of ``x[t] = x[t-1] + steps[t]``."""
    return np.asarray(start, dtype=np.float64) + np.cumsum(steps, axis=0)
