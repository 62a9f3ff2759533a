"""The guide's quantitative claims as data, and how a measured figure judges each one.

Every figure the performance guide (``shared/guide``, module 8) states about InfluxDB that a
benchmark on one machine can check is a :class:`Claim`: an id, the guide's section, what is
compared with what, the claimed figure and a rule. A benchmark offers evidence with
``influx_bench.claim(claim_id, measured)``; the run's summary calls :func:`judge` and shows
the guide's figure beside the measured one with a verdict:

- ``holds``: the measurement reaches the claimed figure (within ``tolerance``);
- ``weaker``: the effect is there, in the claimed direction, but smaller than claimed (or,
  for hardware rates, this machine does not reach a rate the guide gives a bigger box);
- ``contradicted``: no effect, the opposite effect, or a figure far outside the claim.

Claims inform; a run fails on them only with ``--influx-strict-claims``.

Left out on purpose (nothing a run on one machine can measure): SSD against HDD (8.1, 8.6),
recommended RAM and CPU per load (8.1, 8.5), network speeds (8.1, 8.7), index overhead as a
share of data size (8.1, 8.5: influxd 1.x's default ``inmem`` index has no files on disk),
and the absolute "full scan 5 s+" / "30+ s" figures (8.1, 8.8), which name no data size.

>>> judge("8.2/gzip-ratio", 7.4).kind
'holds'
>>> judge("8.2/gzip-ratio", 3.0).kind
'weaker'
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable

from ..errors import InfluxPerfError

VERDICTS = ("holds", "weaker", "contradicted")
RULES = ("at_least", "at_most", "within", "equal", "direction")


class UnknownClaim(InfluxPerfError, KeyError):
    """A claim id that is not in :data:`CLAIMS`; the message names the closest ids."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """How a measurement judges a claim: ``kind`` in :data:`VERDICTS` and a readable text."""

    kind: str
    text: str

    @property
    def holds(self) -> bool:
        return self.kind == "holds"


@dataclasses.dataclass(frozen=True)
class Claim:
    """One quantitative claim of the guide and the rule that judges a measurement of it.

    ``rule``:

    - ``at_least``: the measurement should reach ``low`` (a speedup, a ratio, a rate).
      Short of it, it is ``weaker`` while above ``null`` (the no-effect figure: 1.0 for a
      ratio, 0.0 for a difference) and ``contradicted`` at or below ``null``. With
      ``null=None`` (an absolute rate) a miss is ``short``.
    - ``at_most``: the measurement should stay at or below ``high`` (a latency); up to
      twice ``high`` is ``weaker``, beyond that ``contradicted``.
    - ``within``: ``low`` to ``high`` (a range, or where an optimum lies). Outside it by at
      most a factor of 2 is ``weaker``, further out ``contradicted``. ``open_above`` makes
      it a "this much or more" range: above it holds (more compression is not a miss), and
      below it reads as ``at_least`` (``weaker`` while above ``null``).
    - ``equal``: exactly ``low`` (row counts); off by one row or 1 % is ``weaker``.
    - ``direction``: no figure, only a direction: A beats B, i.e. the measured ratio (B over
      A, oriented so that above 1 agrees with the guide) exceeds ``1 + tolerance``.
    """

    id: str
    section: str
    compares: str
    measured_as: str
    rule: str
    unit: str
    quote: str
    low: float | None = None
    high: float | None = None
    null: float | None = 1.0
    tolerance: float = 0.10
    open_above: bool = False
    short: str = "contradicted"

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"claim {self.id}: rule must be one of {', '.join(RULES)}")
        needs = {"at_least": (self.low,), "at_most": (self.high,), "within": (self.low, self.high),
                 "equal": (self.low,), "direction": ()}[self.rule]
        if any(v is None for v in needs):
            raise ValueError(f"claim {self.id}: rule {self.rule} needs its figure(s)")
        if self.short not in VERDICTS:
            raise ValueError(f"claim {self.id}: short must be one of {', '.join(VERDICTS)}")

    @property
    def claimed(self) -> str:
        """The claimed figure as the summary shows it, e.g. ``>= 7x`` or ``5,000-10,000``."""
        if self.rule == "at_least":
            return f">= {_num(self.low)}{self.unit}"
        if self.rule == "at_most":
            return f"<= {_num(self.high)}{self.unit}"
        if self.rule == "within":
            return f"{_num(self.low)}-{_num(self.high)}{self.unit}" + ("+" if self.open_above
                                                                         else "")
        if self.rule == "equal":
            return f"= {_num(self.low)}{self.unit}"
        return f"> 1{self.unit}"

    def judge(self, measured: float) -> Verdict:
        """The verdict of one measurement (see the class docstring for the rules)."""
        m = float(measured)
        if math.isnan(m):
            return Verdict("contradicted", f"not measurable (NaN); claimed {self.claimed}")
        kind, why = getattr(self, f"_judge_{self.rule}")(m)
        return Verdict(kind, f"{kind}: measured {_num(m)}{self.unit}, claimed {self.claimed}"
                             + (f" ({why})" if why else ""))

    # -- rules -----------------------------------------------------------------------
    def _judge_at_least(self, m: float) -> tuple[str, str]:
        assert self.low is not None
        if m >= self.low * (1 - self.tolerance):
            return "holds", ""
        if self.null is None:
            return self.short, f"{m / self.low:.0%} of the claimed figure"
        if m > self.null:
            return "weaker", f"same direction, {m / self.low:.0%} of the claimed figure"
        return "contradicted", "no gain" if m == self.null else "the opposite effect"

    def _judge_at_most(self, m: float) -> tuple[str, str]:
        assert self.high is not None
        if m <= self.high * (1 + self.tolerance):
            return "holds", ""
        if m <= self.high * 2:
            return "weaker", f"{m / self.high:.1f}x the claimed bound"
        return "contradicted", f"{m / self.high:.1f}x the claimed bound"

    def _judge_within(self, m: float) -> tuple[str, str]:
        assert self.low is not None and self.high is not None
        lo, hi = self.low * (1 - self.tolerance), self.high * (1 + self.tolerance)
        if lo <= m <= hi:
            return "holds", ""
        if m > hi and self.open_above:
            return "holds", "beyond the claimed range, in the claim's favour"
        if m < lo and self.open_above and self.null is not None:
            # "3-10x compression", "100-1000x faster": short of it reads like at_least
            if m > self.null:
                return "weaker", "same direction, below the claimed range"
            return "contradicted", "no gain" if m == self.null else "the opposite effect"
        off = self.low / m if m < lo and m > 0 else (m / self.high if m > hi else math.inf)
        where = "below" if m < lo else "above"
        return ("weaker" if off <= 2 else "contradicted"), f"{where} the claimed range"

    def _judge_equal(self, m: float) -> tuple[str, str]:
        assert self.low is not None
        if m == self.low:
            return "holds", ""
        if abs(m - self.low) <= max(1.0, 0.01 * abs(self.low)):
            return "weaker", "off by one (bucket alignment)"
        return "contradicted", ""

    def _judge_direction(self, m: float) -> tuple[str, str]:
        if m > 1 + self.tolerance:
            return "holds", ""
        if m > 1:
            return "weaker", "within noise of no difference"
        return "contradicted", "no gain" if m == 1 else "the opposite effect"


def _num(value: float | None) -> str:
    """Figures as people write them: 10,000 / 7 / 4.64 / 0.5."""
    if value is None:
        return "?"
    if value == int(value) and abs(value) >= 1:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _speedup(cid: str, section: str, compares: str, measured_as: str, figure: float, quote: str,
             **kw: object) -> Claim:
    return Claim(cid, section, compares, measured_as, "at_least", "x", quote, low=figure, **kw)


# -- the registry ----------------------------------------------------------------------
# Figures are the guide's own; where the guide gives a range for a speedup the low end is
# the figure to reach. Batch-table ratios are the guide's points/s over its batch-100 row.
_CLAIMS: list[Claim] = [
    # 8.1 overview
    Claim("8.1/write-throughput", "8.1", "best write configuration", "points/s sustained",
          "at_least", " points/s", "Throughput: 10K-100K+ points/sec", low=10_000, null=None,
          short="weaker"),
    Claim("8.1/write-latency-p99", "8.1", "batched writes (5,000 points)", "p99 of one batch",
          "at_most", " ms", "Latency: 1-10ms (p99)", high=10),
    Claim("8.1/batch-optimum", "8.1", "batch sizes 100-20,000", "batch size of best points/s",
          "within", " points", "Batch size: 5K-10K points optimal", low=5_000, high=10_000,
          tolerance=0.0),
    Claim("8.1/simple-query", "8.1", "simple query (8.4 'simple')", "p50 latency", "at_most",
          " ms", "Simple queries: <50ms", high=50),
    Claim("8.1/aggregation-query", "8.1", "aggregation (8.4 'aggregation')", "p50 latency",
          "at_most", " ms", "Aggregations: 50-500ms", high=500),
    Claim("8.1/complex-query", "8.1", "complex query (8.4 'complex')", "p50 latency",
          "at_most", " ms", "Complex joins: 500ms-5s", high=5_000),
    Claim("8.1/compression", "8.1", "raw line protocol vs bytes on disk (TSM)",
          "raw bytes / disk bytes", "within", "x", "Compression: 3-10x (depending on data)",
          low=3, high=10, open_above=True),
    Claim("8.1/compaction", "8.1", "bytes on disk before vs after compaction (WAL -> TSM)",
          "size reduction, 100 x (1 - after/before)", "within", " %",
          "Compaction: Reduces size by 50-90%", low=50, high=90, null=0.0, open_above=True),
    # 8.2 writes: the batch table, relative to its batch-100 row (3,922 points/s)
    _speedup("8.2/batch-500", "8.2", "batch 500 vs batch 100", "points/s ratio", 8130 / 3922,
             "500: 8130 points/sec vs 100: 3922"),
    _speedup("8.2/batch-1000", "8.2", "batch 1,000 vs batch 100", "points/s ratio",
             11765 / 3922, "1000: 11765 points/sec vs 100: 3922"),
    _speedup("8.2/batch-5000", "8.2", "batch 5,000 vs batch 100", "points/s ratio",
             19231 / 3922, "5000: 19231 points/sec (Optimal) vs 100: 3922"),
    _speedup("8.2/batch-10000", "8.2", "batch 10,000 vs batch 100", "points/s ratio",
             20000 / 3922, "10000: 20000 points/sec (Optimal) vs 100: 3922"),
    _speedup("8.2/batch-20000", "8.2", "batch 20,000 vs batch 100", "points/s ratio",
             18182 / 3922, "20000: 18182 points/sec vs 100: 3922"),
    _speedup("8.2/batch-20000-diminishing", "8.2", "batch 10,000 vs batch 20,000",
             "points/s ratio", 20000 / 18182,
             "20000: 18182 points/sec (diminishing returns) vs 10000: 20000"),
    _speedup("8.2/parallel-4", "8.2", "4 writers vs 1", "points/s ratio", 3.0,
             "4 workers: 60,000 points/sec (3x faster)"),
    _speedup("8.2/parallel-8", "8.2", "8 writers vs 1", "points/s ratio", 4.5,
             "8 workers: 90,000 points/sec (4.5x faster)"),
    _speedup("8.2/pooling", "8.2", "pooled vs new connection per request (small batches)",
             "points/s ratio", 5.0, "Result: 5-10x faster for high-frequency writes"),
    Claim("8.2/pooling-overhead", "8.2", "new connection vs pooled, per request",
          "p50 latency difference", "at_least", " ms",
          "Without pooling ... Overhead: ~5-10ms per request", low=5, null=0.0),
    _speedup("8.2/gzip-ratio", "8.2", "plain vs gzip line protocol", "bytes ratio", 7.0,
             "Ratio: 7.0x (2,450,000 -> 350,000 bytes)"),
    Claim("8.2/gzip-savings", "8.2", "plain vs gzip line protocol", "bandwidth saved, %",
          "at_least", " %", "Network savings: ~85% bandwidth reduction", low=85, null=0.0,
          tolerance=0.02),
    # 8.3 queries
    _speedup("8.3/time-filter", "8.3", "no time filter vs last hour", "p50 latency ratio", 100,
             "Time: 50ms (100x faster!)"),
    _speedup("8.3/projection", "8.3", "SELECT * vs 3 columns (wide measurement)",
             "bytes ratio", 7, "~100 MB vs ~15 MB read from disk (7x less!)"),
    _speedup("8.3/aggregation-pushdown", "8.3", "client-side vs server-side mean",
             "p50 latency ratio", 27, "Total: 55ms (27x faster!)"),
    Claim("8.3/window-1h-rows", "8.3", "1 h at 10 s buckets", "result rows", "equal", " rows",
          "query_1h ... # 360 rows (10s buckets)", low=360),
    Claim("8.3/window-24h-rows", "8.3", "24 h at 5 min buckets", "result rows", "equal",
          " rows", "query_24h ... # 288 rows (5m buckets)", low=288),
    Claim("8.3/window-7d-rows", "8.3", "7 d at 1 h buckets", "result rows", "equal", " rows",
          "query_7d ... # 168 rows (1h buckets)", low=168),
    _speedup("8.3/window-1h-speedup", "8.3", "raw points vs 10 s windows over 1 h",
             "p50 latency ratio", 1_000, "1 hour 360,000 raw, 10s, 360 rows, 1000x"),
    _speedup("8.3/window-24h-speedup", "8.3", "raw points vs 5 min windows over 24 h",
             "p50 latency ratio", 30_000, "24 hours 8,640,000 raw, 5min, 288 rows, 30,000x"),
    _speedup("8.3/window-7d-speedup", "8.3", "raw points vs 1 h windows over 7 d",
             "p50 latency ratio", 360_000, "7 days 60,480,000 raw, 1hour, 168 rows, 360,000x"),
    Claim("8.3/tag-index", "8.3", "tag filter vs field filter (same values)",
          "p50 latency ratio field/tag", "direction", "x",
          "FAST: Tags are indexed ... SLOW: Fields are not indexed"),
    # 8.8 anti-patterns
    Claim("8.8/ap1-memory", "8.8", "high-cardinality tag vs the same value as a field",
          "server memory growth ratio tag/field", "direction", "x",
          "High Cardinality Tags ... High memory usage"),
    Claim("8.8/ap1-index-size", "8.8", "index memory of 1,000,000 tag values (extrapolated)",
          "GB per 1,000,000 series", "at_least", " GB",
          "user_id UUID -- 1,000,000+ unique values! Huge index size (5+ GB)", low=5, null=0.0),
    Claim("8.8/ap1-queries", "8.8", "query on a high-cardinality tag schema vs field schema",
          "p50 latency ratio tag/field", "direction", "x",
          "High Cardinality Tags ... Slow queries"),
    _speedup("8.8/ap2-time-filter", "8.8", "no time filter vs last hour", "p50 latency ratio",
             600, "Time: 50ms (600x faster!)"),
    _speedup("8.8/ap3-select-star", "8.8", "SELECT * vs 3 columns", "p50 latency ratio", 10,
             "Time: 500ms (10x faster!)"),
    _speedup("8.8/ap3-bytes", "8.8", "SELECT * vs 3 columns", "bytes ratio", 200 / 30,
             "1,000,000 rows x 20 columns = 200 MB vs x 3 columns = 30 MB"),
    _speedup("8.8/ap4-client-side", "8.8", "client-side vs server-side mean",
             "p50 latency ratio", 30, "Time: 2 seconds (30x faster!)"),
    _speedup("8.8/ap5-single-point", "8.8", "batches of 5,000 vs single-point writes",
             "points/s ratio", 500, "Time: 20 x 100ms = 2 seconds (500x faster!)"),
    Claim("8.8/ap5-request-time", "8.8", "one single-point write request", "p50 latency",
          "at_least", " ms", "Time: 100,000 x 10ms = 1000 seconds", low=10, null=0.0),
    Claim("8.8/ap5-batch-time", "8.8", "one 5,000-point write request", "p50 latency",
          "at_most", " ms", "Time: 20 x 100ms = 2 seconds", high=100),
    # 8.7 network: per-request costs the guide's arithmetic rests on
    Claim("8.7/request-overhead", "8.7", "one single-point write request", "p50 latency",
          "at_least", " ms", "Network overhead: 10,000 x 5ms = 50 seconds!", low=5, null=0.0),
    Claim("8.7/keepalive-overhead", "8.7", "new connection vs kept-alive, per request",
          "p50 latency difference", "at_least", " ms",
          "TCP handshake: 3 x 20ms = 60ms overhead per request", low=60, null=0.0),
    # 8.10 hardware sizing: rates a box of that size takes; this machine is usually smaller
    Claim("8.10/small", "8.10", "Small deployment (4 cores, 8-16 GB)", "points/s sustained",
          "at_least", " points/s", "Small Deployment (10K points/sec)", low=10_000, null=None,
          short="weaker"),
    Claim("8.10/medium", "8.10", "Medium deployment (8-16 cores, 32-64 GB)",
          "points/s sustained", "at_least", " points/s", "Medium Deployment (50K points/sec)",
          low=50_000, null=None, short="weaker"),
    Claim("8.10/large", "8.10", "Large deployment (32+ cores, 128+ GB)", "points/s sustained",
          "at_least", " points/s", "Large Deployment (200K+ points/sec)", low=200_000,
          null=None, short="weaker"),
    Claim("8.10/clustered", "8.10", "Clustered deployment (3-10 nodes)", "points/s sustained",
          "at_least", " points/s", "Clustered Deployment (500K+ points/sec)", low=500_000,
          null=None, short="weaker"),
    # Key takeaways
    Claim("takeaway/batching", "takeaways", "batches of 5K-10K vs single-point writes",
          "points/s ratio", "within", "x", "Batch writes (5K-10K) = 10-100x faster",
          low=10, high=100, open_above=True),
    Claim("takeaway/time-filter", "takeaways", "no time filter vs last hour",
          "p50 latency ratio", "within", "x", "Always filter by time = 100-1000x faster queries",
          low=100, high=1_000, open_above=True),
]

#: Every claim by id.
CLAIMS: dict[str, Claim] = {c.id: c for c in _CLAIMS}
assert len(CLAIMS) == len(_CLAIMS), "claim ids must be unique"


def get(claim_id: str) -> Claim:
    """The claim with this id; an unknown id raises :class:`UnknownClaim` naming near ids."""
    try:
        return CLAIMS[claim_id]
    except KeyError:
        near = difflib.get_close_matches(claim_id, CLAIMS, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(near)}?" if near else \
            "see pytest_influxperf.bench.claims.CLAIMS for the ids"
        raise UnknownClaim(f"unknown guide claim {claim_id!r}: {hint}") from None


def judge(claim_id: str, measured: float) -> Verdict:
    """Judge one measurement of a claim: ``Verdict(kind, text)``.

    >>> judge("8.3/window-1h-rows", 360).text
    'holds: measured 360 rows, claimed = 360 rows'
    """
    return get(claim_id).judge(measured)


def table(measurements: Iterable[tuple[str, float]]) -> list[tuple[str, str, str, str, str]]:
    """Rows ``(id, compares, claimed, measured, verdict kind)`` for a claims table."""
    rows = []
    for claim_id, measured in measurements:
        claim = get(claim_id)
        rows.append((claim.id, claim.compares, claim.claimed,
                     f"{_num(float(measured))}{claim.unit}", claim.judge(measured).kind))
    return rows


def format_table(measurements: Iterable[tuple[str, float, str]]) -> list[str]:
    """A fixed-width claims table (claim, guide says, measured, verdict, detail) for a
    terminal: one line per ``(claim_id, measured, detail)``; unknown ids are shown as such.
    """
    rows = [("claim", "guide says", "measured", "verdict", "detail")]
    for claim_id, measured, detail in measurements:
        claim = CLAIMS.get(claim_id)
        if claim is None:
            rows.append((claim_id, "?", _num(float(measured)), "unknown claim", detail))
            continue
        rows.append((claim.id, claim.claimed, f"{_num(float(measured))}{claim.unit}",
                     claim.judge(measured).kind, detail))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4]
            for r in rows]
