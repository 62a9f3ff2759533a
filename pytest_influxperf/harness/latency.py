"""Latency statistics: percentiles of per-request times, in milliseconds (numpy)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np

PERCENTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}


@dataclasses.dataclass(frozen=True)
class Latency:
    """Percentiles of one set of timings, in ms. ``None`` everywhere when nothing was timed.

    >>> Latency.from_samples([1.0, 2.0, 3.0]).p50
    2.0
    """

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None
    min: float | None = None
    mean: float | None = None
    count: int = 0
    samples: tuple[float, ...] = dataclasses.field(default=(), repr=False, compare=False)

    @classmethod
    def from_samples(cls, samples_ms: Iterable[float]) -> Latency:
        """Summarize timings given in milliseconds (any order)."""
        values = np.asarray(list(samples_ms), dtype=float)
        if values.size == 0:
            return cls()
        # "linear" is numpy's default; named so a reader does not have to look it up.
        pcts = np.percentile(values, list(PERCENTILES.values()), method="linear")
        named = {key: float(v) for key, v in zip(PERCENTILES, pcts)}
        return cls(**named, max=float(values.max()), min=float(values.min()),
                   mean=float(values.mean()), count=int(values.size),
                   samples=tuple(float(v) for v in values))

    def as_dict(self) -> dict[str, Any]:
        """The summary without the samples (what reports store)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "samples"}

    def __str__(self) -> str:
        if not self.count:
            return "no samples"
        return (f"p50 {self.p50:.2f} ms, p95 {self.p95:.2f} ms, p99 {self.p99:.2f} ms, "
                f"max {self.max:.2f} ms (n={self.count})")
