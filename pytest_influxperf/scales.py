"""Data sizes per ``--influx-scale``: how many points the write tests send, how big and how
long the query datasets are, and how many interleaved rounds each comparison takes.

``smoke`` keeps the whole suite CI-sized (under 5 minutes on a 2-core machine, server start
included); ``small`` matches the guide's sizes (100,000 points for the write tests, 7 days
of data for the query claims); ``medium`` and ``large`` grow about 10x and 100x, with longer
time spans so that "last hour against everything" means more.

>>> get("small").write_points
100000
>>> get("small").query_points
100800
"""

from __future__ import annotations

import dataclasses

DAY_S = 86_400
#: The guide's batch sizes (8.2), plus 1: the single-point anti-pattern has its own test.
GUIDE_BATCH_SIZES = (100, 500, 1_000, 5_000, 10_000, 20_000)
GUIDE_WORKERS = (1, 2, 4, 8)


@dataclasses.dataclass(frozen=True)
class Scale:
    """The sizes of one scale. Every count is a hard bound on the load a benchmark sends."""

    name: str
    #: points each write benchmark sends per round (the guide: 100,000)
    write_points: int
    #: interleaved rounds per compared pair (ABAB...): the median of the rounds is reported
    rounds: int
    #: single-point writes really sent; the time for the guide's 100,000 is extrapolated
    single_points: int
    #: points sent with and without connection pooling (at ``pooling_batch`` per request)
    pooling_points: int
    pooling_batch: int
    #: query dataset: hosts x (span / interval) points of the TSBS cpu shape
    query_hosts: int
    query_interval_s: int
    query_span_s: int
    #: query runs per side per comparison (interleaved)
    query_rounds: int
    #: distinct values of the high-cardinality tag (anti-pattern 1)
    cardinality_points: int
    #: seconds of sustained writing for the hardware sizing verdict (8.10)
    sustained_s: float
    #: most raw rows one query may fetch (anti-pattern 3's "1,000,000 rows"): wider
    #: windows at medium and large read a subset of hosts, the same on both sides
    raw_rows_cap: int = 1_000_000
    batch_sizes: tuple[int, ...] = GUIDE_BATCH_SIZES
    workers: tuple[int, ...] = GUIDE_WORKERS

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
                raise ValueError(f"scale {self.name}: {field.name} must be positive, not {value}")
        if self.query_span_s < 7 * DAY_S:
            raise ValueError(f"scale {self.name}: the query dataset must span at least 7 days "
                             "(the guide's widest window)")

    @property
    def query_points(self) -> int:
        """Points in the query dataset."""
        return self.query_hosts * (self.query_span_s // self.query_interval_s)

    @property
    def points_per_host(self) -> int:
        return self.query_span_s // self.query_interval_s


SCALES: dict[str, Scale] = {
    "smoke": Scale("smoke", write_points=20_000, rounds=2, single_points=200,
                   pooling_points=4_000, pooling_batch=100, query_hosts=8,
                   query_interval_s=300, query_span_s=7 * DAY_S, query_rounds=3,
                   cardinality_points=5_000, sustained_s=3.0),
    "small": Scale("small", write_points=100_000, rounds=3, single_points=1_000,
                   pooling_points=20_000, pooling_batch=100, query_hosts=10,
                   query_interval_s=60, query_span_s=7 * DAY_S, query_rounds=5,
                   cardinality_points=50_000, sustained_s=15.0),
    "medium": Scale("medium", write_points=1_000_000, rounds=3, single_points=5_000,
                    pooling_points=100_000, pooling_batch=100, query_hosts=50,
                    query_interval_s=60, query_span_s=14 * DAY_S, query_rounds=5,
                    cardinality_points=200_000, sustained_s=60.0),
    "large": Scale("large", write_points=10_000_000, rounds=3, single_points=10_000,
                   pooling_points=500_000, pooling_batch=100, query_hosts=250,
                   query_interval_s=60, query_span_s=28 * DAY_S, query_rounds=5,
                   cardinality_points=1_000_000, sustained_s=300.0),
}


def get(name: str) -> Scale:
    """The scale called ``name``; an unknown name raises ``ValueError`` listing the scales."""
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}: use one of {', '.join(SCALES)}") from None
