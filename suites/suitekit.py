"""Helpers of the suites (no pytest): scratch databases, ABAB interleaving, ratios, the
query dataset's description. The suites import it as ``suitekit`` (their folder is on
``sys.path`` under pytest's default import mode)."""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
NS = 1_000_000_000
HOUR_NS = 3600 * NS
DAY_NS = 24 * HOUR_NS


# -- databases -------------------------------------------------------------------------
@contextlib.contextmanager
def scratch_database(server: Any, prefix: str = "suite") -> Iterator[str]:
    """A database that exists for the ``with`` block only (created, then dropped)."""
    name = f"influxperf_{prefix}_{uuid.uuid4().hex[:10]}"
    client = server.client()
    client.create_database(name)
    try:
        yield name
    finally:
        if server.is_running():
            client.drop_database(name)


def fresh_write(server: Any, writer: Any, data: Any, **kwargs: Any) -> Any:
    """Write ``data`` into a database of its own and drop it: every round starts empty."""
    with scratch_database(server, "w") as database:
        return writer.write(data, database=database, **kwargs)


def check_write(result: Any) -> Any:
    """A write benchmark is void if points went missing: say so instead of timing it."""
    lost = result.points_sent - result.points_accepted
    if result.errors or lost:
        raise AssertionError(f"write lost {lost} point(s): {result.summary()}")
    return result


# -- interleaving ----------------------------------------------------------------------
def interleave(variants: Mapping[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Run every variant once per round, in the given order, ``rounds`` times (ABAB...).

    >>> calls = []
    >>> out = interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 2)
    >>> calls
    ['a', 'b', 'a', 'b']
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds}")
    results: dict[str, list[T]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            results[name].append(run())
    return results


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Median of the per-round ratios (rounds paired as measured: drift cancels)."""
    pairs = [n / d for n, d in zip(numerators, denominators) if d]
    if not pairs:
        raise ValueError("no round gave a usable ratio (a zero denominator in every round)")
    return statistics.median(pairs)


def spread(values: Sequence[float]) -> str:
    """``min-max`` of the rounds, for claim details (a reader sees the noise)."""
    return f"rounds {min(values):,.3g}-{max(values):,.3g}" if values else "no rounds"


def record_resources(bench: Any, server: Any) -> None:
    """The guide's memory and disk monitors (8.5, 8.6) as figures of every benchmark."""
    with contextlib.suppress(Exception):  # a figure a provider cannot see is not an error
        bench.resources(server.resources().as_dict())


# -- the query dataset ---------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class QueryDataset:
    """The TSBS ``cpu`` measurement written once for every query benchmark."""

    database: str
    measurement: str
    host_key: str
    hosts: tuple[str, ...]
    fields: tuple[str, ...]
    points: int
    first_ns: int
    last_ns: int

    @property
    def span_ns(self) -> int:
        return self.last_ns - self.first_ns

    def end(self, align_ns: int = HOUR_NS) -> int:
        """The end of the query windows: the last point's time, rounded down to an hour,
        so that windows hold whole buckets (360 ten-second buckets in an hour, ...)."""
        return self.last_ns // align_ns * align_ns

    def window(self, length_ns: int) -> tuple[int, int]:
        """``(start, end)`` of the last ``length_ns`` of data, hour aligned."""
        end = self.end()
        return end - length_ns, end

    def hosts_within(self, length_ns: int, cap: int) -> tuple[str, ...]:
        """The first hosts whose raw points over ``length_ns`` stay within ``cap`` rows."""
        per_host = self.points / len(self.hosts) * min(1.0, length_ns / max(1, self.span_ns))
        return self.hosts[:max(1, min(len(self.hosts), int(cap // max(1.0, per_host))))]

    def where(self, length_ns: int, cap: int | None = None) -> str:
        """The time bounds of the last ``length_ns``; with ``cap``, also a host filter that
        keeps the raw rows within ``cap`` (only when all hosts would exceed it)."""
        start, end = self.window(length_ns)
        clause = f"time >= {start} AND time < {end}"
        if cap is not None:
            hosts = self.hosts_within(length_ns, cap)
            if len(hosts) < len(self.hosts):
                clause += " AND (" + " OR ".join(f"\"{self.host_key}\" = '{h}'"
                                                  for h in hosts) + ")"
        return clause


def runtime_stats(server: Any) -> dict[str, Any]:
    """The Go runtime figures influxd 1.x reports (``SHOW STATS FOR 'runtime'``), or {}."""
    with contextlib.suppress(Exception):
        rows = server.client().query("SHOW STATS FOR 'runtime'").rows
        return dict(rows[0]) if rows else {}
    return {}


def heap_after_gc(server: Any) -> int | None:
    """Go heap in use right after a forced garbage collection, or ``None``.

    influxd serves Go's ``/debug/pprof`` (``pprof-enabled`` is on by default); ``gc=1`` runs a
    collection before the profile is written, so two readings differ by live memory (the
    series index, for anti-pattern 1) and not by garbage the collector had not reached yet.
    """
    import re

    with contextlib.suppress(Exception):
        resp = server.client().request("GET", "/debug/pprof/heap",
                                       params={"gc": "1", "debug": "1"}, timeout=30)
        found = re.search(r"^# HeapAlloc = (\d+)", resp.text, re.M) \
            if resp.status_code == 200 else None
        return int(found.group(1)) if found else None
    return None
