"""The guide's capacity-planning formula (8.10), computed right, and ``influxperf capacity``.

The formula: points/day = rate x 86,400; raw bytes/day = points/day x point size;
compressed/day = raw / compression ratio; total = compressed/day x retention days; plus 20 %
overhead (WAL, index); provision twice that. The guide divides by 1024**3 and calls the
result "GB": those are GiB. This module prints both units, labelled honestly.

The guide's printed example (1,000 points/s, 200 B, 90 days, 7x) does not follow from its
own formula from the raw-per-day line on: 17.28e9 B/day is 16.09 GiB, not 16.13, and the
lines after it carry the error (:func:`check_guide_example` lists every line).

``--from-report PATH`` replaces the guessed point size and compression ratio with the
bytes per point measured on disk by the storage benchmark (``suites/test_8_6_storage.py``):
the report JSON's benchmark ``info`` key :data:`REPORT_DISK_KEY` (and
:data:`REPORT_RAW_KEY` for the raw line-protocol size, which gives the ratio); a report
with several such benchmarks (the storage test measures two shapes) needs ``--benchmark``
to say which one.

>>> e = estimate(points_per_second=1000, point_size_bytes=200, retention_days=90,
...              compression_ratio=7)
>>> round(e.raw_bytes_per_day / GIB, 2), round(e.recommended_bytes / GIB, 2)
(16.09, 496.59)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from .errors import InfluxPerfError

GB = 1000**3
GIB = 1024**3
SECONDS_PER_DAY = 86_400
#: info keys the storage benchmark records and ``--from-report`` reads
REPORT_DISK_KEY = "disk_bytes_per_point"
REPORT_RAW_KEY = "raw_bytes_per_point"


class CapacityError(InfluxPerfError, ValueError):
    """Inputs or a report the estimate cannot use; the message says what to give instead."""


@dataclasses.dataclass(frozen=True)
class CapacityEstimate:
    """Every figure of the guide's formula, in bytes (format with :meth:`lines`)."""

    points_per_second: float
    point_size_bytes: float
    retention_days: float
    compression_ratio: float
    overhead: float
    safety_factor: float

    @property
    def points_per_day(self) -> float:
        return self.points_per_second * SECONDS_PER_DAY

    @property
    def raw_bytes_per_day(self) -> float:
        return self.points_per_day * self.point_size_bytes

    @property
    def compressed_bytes_per_day(self) -> float:
        return self.raw_bytes_per_day / self.compression_ratio

    @property
    def total_bytes(self) -> float:
        return self.compressed_bytes_per_day * self.retention_days

    @property
    def with_overhead_bytes(self) -> float:
        return self.total_bytes * (1 + self.overhead)

    @property
    def recommended_bytes(self) -> float:
        return self.with_overhead_bytes * self.safety_factor

    def figures(self) -> list[tuple[str, float]]:
        """``(label, bytes)`` for each size line of the guide's printout, in its order."""
        return [("Raw data per day", self.raw_bytes_per_day),
                ("Compressed per day", self.compressed_bytes_per_day),
                ("Total storage needed", self.total_bytes),
                (f"With overhead ({self.overhead:.0%})", self.with_overhead_bytes),
                ("Recommended provision", self.recommended_bytes)]

    def lines(self) -> list[str]:
        """The guide's printout, each size in GB (10**9 B) and GiB (2**30 B)."""
        out = ["Capacity Planning Results:",
               f"  Write rate: {self.points_per_second:,.0f} points/sec",
               f"  Points per day: {self.points_per_day:,.0f}",
               f"  Point size: {self.point_size_bytes:,.1f} bytes raw, compression "
               f"{self.compression_ratio:.2f}x "
               f"({self.point_size_bytes / self.compression_ratio:,.1f} bytes per point stored)",
               f"  Retention period: {self.retention_days:g} days"]
        for label, value in self.figures():
            out.append(f"  {label + ':':<28}{value / GB:>12,.2f} GB  {value / GIB:>12,.2f} GiB")
        out.append(f"  (provision = {self.safety_factor:g} x total with overhead; "
                   "GB = 10^9 bytes, GiB = 2^30 bytes)")
        return out


def estimate(*, points_per_second: float, point_size_bytes: float, retention_days: float,
             compression_ratio: float = 5.0, overhead: float = 0.2,
             safety_factor: float = 2.0) -> CapacityEstimate:
    """The guide's estimate; every input must be positive (overhead may be 0)."""
    for name, value in (("points_per_second", points_per_second),
                        ("point_size_bytes", point_size_bytes),
                        ("retention_days", retention_days),
                        ("compression_ratio", compression_ratio),
                        ("safety_factor", safety_factor)):
        if not value > 0:
            raise CapacityError(f"{name} must be a positive number, not {value!r}")
    if overhead < 0:
        raise CapacityError(f"overhead is a fraction (0.2 for 20 %), not {overhead!r}")
    return CapacityEstimate(float(points_per_second), float(point_size_bytes),
                            float(retention_days), float(compression_ratio), float(overhead),
                            float(safety_factor))


# -- the guide's printed example, line by line ------------------------------------------
GUIDE_EXAMPLE = dict(points_per_second=1000, point_size_bytes=200, retention_days=90,
                     compression_ratio=7)
#: what the guide prints, in its "GB" (its formula divides by 1024**3: GiB)
GUIDE_PRINTED = {"Raw data per day": 16.13, "Compressed per day": 2.30,
                 "Total storage needed": 207.40, "With overhead (20%)": 248.88,
                 "Recommended provision": 497.76}


@dataclasses.dataclass(frozen=True)
class PrintedLine:
    """One size line of the guide's example against the formula's value."""

    label: str
    printed: float
    computed_gib: float
    computed_gb: float

    @property
    def follows(self) -> bool:
        """Whether the printed figure is the formula's GiB value rounded to 2 decimals."""
        return abs(self.printed - self.computed_gib) < 0.005 + 1e-9

    def describe(self) -> str:
        mark = "follows" if self.follows else "DOES NOT FOLLOW"
        return (f"{self.label}: guide prints {self.printed:.2f} \"GB\"; formula gives "
                f"{self.computed_gib:.2f} GiB = {self.computed_gb:.2f} GB -> {mark}")


def check_guide_example() -> list[PrintedLine]:
    """Each size line the guide prints for its example, against its own formula."""
    est = estimate(**GUIDE_EXAMPLE)  # type: ignore[arg-type]
    computed = dict(est.figures())
    return [PrintedLine(label, printed, computed[label] / GIB, computed[label] / GB)
            for label, printed in GUIDE_PRINTED.items()]


# -- reading a benchmark report -----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Measured:
    """Bytes per point one benchmark of a report measured."""

    source: str                    # the benchmark's node id (or "report" for a bare figure)
    disk_bytes_per_point: float
    raw_bytes_per_point: float | None


def read_report(path: Path, benchmark: str | None = None) -> Measured:
    """The bytes per point measured in a report JSON.

    Looks in every benchmark's ``info`` for :data:`REPORT_DISK_KEY` (also under a prefix,
    e.g. ``"storage disk_bytes_per_point"``) and :data:`REPORT_RAW_KEY`; a bare
    ``{"disk_bytes_per_point": 41.2}`` document is accepted too. ``benchmark`` (a part of a
    node id, e.g. ``cpu-only``) picks one when several benchmarks measured different sizes:
    averaging the sizes of different data would describe no data at all.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CapacityError(f"--from-report {path}: no such file; write one with "
                            "`pytest suites --influx-bench --influx-report report.json`") from None
    except (OSError, ValueError) as exc:
        raise CapacityError(f"--from-report {path}: not a readable JSON report ({exc})") from None
    found = _measurements(data)
    if benchmark:
        found = [m for m in found if benchmark in m.source]
    if not found:
        which = f" from a benchmark matching {benchmark!r}" if benchmark else ""
        raise CapacityError(
            f"--from-report {path}: no '{REPORT_DISK_KEY}' figure{which} in it; it is recorded "
            "by suites/test_8_6_storage.py (run it with --influx-bench and --influx-report)")
    if len({(m.disk_bytes_per_point, m.raw_bytes_per_point) for m in found}) > 1:
        listing = "; ".join(f"{m.source}: {m.disk_bytes_per_point:g} B" for m in found)
        raise CapacityError(f"--from-report {path}: {len(found)} benchmarks measured different "
                            f"sizes ({listing}); choose one with --benchmark PART_OF_ITS_NAME")
    return found[0]


def _measurements(data: Any) -> list[Measured]:
    if not isinstance(data, dict):
        return []
    sources: list[tuple[str, Any]] = [("report", data)]
    benchmarks = data.get("benchmarks")
    if isinstance(benchmarks, dict):
        sources += [(str(k), b.get("info") or {}) for k, b in benchmarks.items()
                    if isinstance(b, dict)]
    out = []
    for name, info in sources:
        disk = _value(info, REPORT_DISK_KEY)
        if disk is not None:
            out.append(Measured(name, disk, _value(info, REPORT_RAW_KEY)))
    return out


def _value(info: Any, key: str) -> float | None:
    if not isinstance(info, dict):
        return None
    for name, value in info.items():
        if (name == key or str(name).endswith(" " + key)) and isinstance(value, (int, float)) \
                and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


# -- the subcommand ---------------------------------------------------------------------
def _positive(text: str) -> float:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return value


def register(subparsers: Any) -> None:
    """Add ``influxperf capacity`` to the console script's subcommands."""
    p = subparsers.add_parser(
        "capacity", help="storage needed for a write rate and retention (guide 8.10)",
        description="The guide's capacity formula, computed right, in GB and GiB. Give a "
                    "point size and compression ratio, or --from-report with a benchmark "
                    "report that measured bytes per point on disk.")
    p.add_argument("--points-per-second", type=_positive, metavar="N",
                   help="write rate (default: 1000, the guide's example)")
    p.add_argument("--point-size", type=_positive, metavar="BYTES",
                   help="raw line-protocol bytes per point (default: 200)")
    p.add_argument("--retention-days", type=_positive, metavar="D",
                   help="how long data is kept (default: 90)")
    p.add_argument("--compression", type=_positive, metavar="R",
                   help="on-disk compression ratio (default: 7)")
    p.add_argument("--overhead", type=float, default=0.2, metavar="FRACTION",
                   help="WAL and index overhead (default: 0.2, the guide's 20%%)")
    p.add_argument("--from-report", type=Path, metavar="PATH",
                   help="benchmark report JSON: use its measured bytes per point on disk")
    p.add_argument("--benchmark", metavar="NAME",
                   help="with --from-report: the benchmark whose figure to use (part of its "
                        "name, e.g. cpu-only) when the report has several")
    p.add_argument("--guide-example", action="store_true",
                   help="check the guide's printed example against its formula")


def run(args: argparse.Namespace) -> int:
    """Print the estimate (and, if asked, the guide example check); return the exit code."""
    if args.guide_example:
        print("The guide's example (1,000 points/s, 200 B, 90 days, 7x) against its formula:")
        for line in check_guide_example():
            print("  " + line.describe())
        print()
    size, ratio, note = args.point_size or 200.0, args.compression or 7.0, None
    if args.benchmark and args.from_report is None:
        raise CapacityError("--benchmark picks a figure of --from-report: give the report too")
    if args.from_report is not None:
        if args.compression is not None:
            raise CapacityError("--compression and --from-report exclude each other: the "
                                "report's bytes per point on disk already include compression")
        measured = read_report(args.from_report, args.benchmark)
        disk, raw = measured.disk_bytes_per_point, measured.raw_bytes_per_point
        size = args.point_size or raw or disk
        ratio = size / disk
        note = (f"measured: {disk:,.2f} bytes per point on disk"
                + (f", {raw:,.1f} bytes raw line protocol" if raw else "")
                + f" ({measured.source} in {args.from_report})")
    est = estimate(points_per_second=args.points_per_second or 1000.0, point_size_bytes=size,
                   retention_days=args.retention_days or 90.0, compression_ratio=ratio,
                   overhead=args.overhead)
    if note:
        print(note)
    print("\n".join(est.lines()))
    return 0
