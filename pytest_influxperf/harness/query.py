"""The timed query runner: warmup, N runs (or a time budget), percentiles, consistency.

The clock covers sending the query and reading the whole answer; parsing the JSON is
timed apart (``parse_ms``), so a slow Python parse is not blamed on the server. An error
inside a 200 answer (InfluxQL's ``results[].error``) raises: it is never a fast success.

>>> runner = QueryRunner(server, default_database="demo")                  # doctest: +SKIP
>>> result = runner.run(Query("cpu").aggregate("mean", "usage").last(hours=1))  # doctest: +SKIP
>>> result.latency_ms.p95, result.rows, result.consistent                  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any

from .builder import Query
from .latency import Latency
from .sampler import ResourceSampler

MAX_RUNS = 10_000  # a time budget still stops after this many runs


@dataclasses.dataclass
class QueryResult:
    """What one ``QueryRunner.run`` measured."""

    query_text: str
    language: str
    database: str | None
    latency_ms: Latency          # request sent -> whole answer read, per measured run
    parse_ms: Latency            # JSON -> rows, per measured run (client time, not server)
    rows: int                    # rows of the last answer
    bytes: int                   # bytes of the last answer's body
    runs: int
    warmup: int
    elapsed_s: float
    answer: Any                  # the last QueryAnswer
    consistent: bool             # every run (warmup included) got the same bytes back
    distinct_answers: int
    server_resources: dict[str, Any]

    def summary(self) -> str:
        same = "same answer every run" if self.consistent else \
            f"{self.distinct_answers} different answers"
        return (f"{self.runs} runs, {self.rows} rows, {self.bytes} bytes, {same}; "
                f"latency {self.latency_ms}")


@dataclasses.dataclass
class ClientAggResult:
    """The guide's anti-pattern, timed in parts: fetch raw rows, then aggregate in pandas."""

    query_text: str
    agg: str
    column: str
    by: tuple[str, ...]
    transfer_ms: Latency         # HTTP: the raw rows over the wire
    parse_ms: Latency            # JSON -> rows
    aggregate_ms: Latency        # rows -> DataFrame -> aggregate
    fetch_ms: Latency            # transfer + parse, per run
    total_ms: Latency            # fetch + aggregate, per run
    rows: int
    bytes: int
    runs: int
    value: Any                   # the aggregate (a float, or a pandas Series with ``by``)


class QueryRunner:
    """Timed queries against one server; ``default_database`` when ``database=None``."""

    def __init__(self, server: Any, *, default_database: str | None = None) -> None:
        self.server = server
        self.default_database = default_database

    def close(self) -> None:
        """Nothing stays open between runs; kept for the fixture's symmetry."""

    def run(self, query: str | Query, *, database: str | None = None, runs: int = 5,
            warmup: int = 1, budget_s: float | None = None, language: str = "influxql",
            timeout: float = 60.0, sample_resources: bool = True,
            max_runs: int = MAX_RUNS) -> QueryResult:
        """Run ``query`` ``warmup`` times untimed, then ``runs`` times timed.

        With ``budget_s``, timed runs repeat until the budget is spent instead (at least
        one, at most ``max_runs``). Raises :class:`~pytest_influxperf.errors.QueryError`
        on any error, also one inside a 200 answer.
        """
        text = _text(query, language)
        database = database or self.default_database
        _validate_runs(runs, warmup, budget_s, timeout, max_runs)
        digests: set[str] = set()
        answer = None
        for _ in range(warmup):
            _, _, answer, digest = self._once(text, database, language, timeout)
            digests.add(digest)
        sampler = ResourceSampler(self.server, database, cardinality=False) \
            if sample_resources else None
        if sampler:
            sampler.start()
        latencies: list[float] = []
        parses: list[float] = []
        began = time.monotonic()
        try:
            while True:
                lat, parse, answer, digest = self._once(text, database, language, timeout)
                latencies.append(lat)
                parses.append(parse)
                digests.add(digest)
                if _done(len(latencies), runs, budget_s, began, max_runs):
                    break
        finally:
            if sampler:
                sampler.stop()
        elapsed = time.monotonic() - began
        assert answer is not None
        return QueryResult(
            query_text=text, language=language, database=database,
            latency_ms=Latency.from_samples(latencies), parse_ms=Latency.from_samples(parses),
            rows=len(answer.rows), bytes=answer.nbytes, runs=len(latencies), warmup=warmup,
            elapsed_s=elapsed, answer=answer, consistent=len(digests) == 1,
            distinct_answers=len(digests),
            server_resources=sampler.summary() if sampler else {})

    def client_side_aggregate(self, query_raw: str | Query, agg: str = "mean",
                              column: str = "value", *, by: str | tuple[str, ...] = (),
                              database: str | None = None, runs: int = 5, warmup: int = 1,
                              language: str = "influxql", timeout: float = 60.0,
                              ) -> ClientAggResult:
        """Fetch raw rows and aggregate them in pandas, timing transfer, parse and
        aggregation apart: the guide's "aggregate at the server, not the client" case.

        ``agg`` is any pandas aggregation name (``mean``, ``sum``, ``max``, ``median``...);
        ``by`` groups by tag columns first.
        """
        import pandas as pd

        text = _text(query_raw, language)
        database = database or self.default_database
        by_cols = (by,) if isinstance(by, str) else tuple(by)
        _validate_runs(runs, warmup, None, timeout, MAX_RUNS)
        transfer: list[float] = []
        parse: list[float] = []
        aggregate: list[float] = []
        value: Any = None
        answer = None
        for i in range(warmup + runs):
            lat, parse_ms, answer, _ = self._once(text, database, language, timeout)
            t0 = time.perf_counter()
            frame = pd.DataFrame(answer.rows)
            _check_columns(frame, (column, *by_cols), text)
            series = frame.groupby(list(by_cols))[column] if by_cols else frame[column]
            value = series.agg(agg)
            agg_ms = (time.perf_counter() - t0) * 1000.0
            if i >= warmup:
                transfer.append(lat)
                parse.append(parse_ms)
                aggregate.append(agg_ms)
        assert answer is not None
        fetch = [a + b for a, b in zip(transfer, parse)]
        return ClientAggResult(
            query_text=text, agg=agg, column=column, by=by_cols,
            transfer_ms=Latency.from_samples(transfer), parse_ms=Latency.from_samples(parse),
            aggregate_ms=Latency.from_samples(aggregate), fetch_ms=Latency.from_samples(fetch),
            total_ms=Latency.from_samples(f + a for f, a in zip(fetch, aggregate)),
            rows=len(answer.rows), bytes=answer.nbytes, runs=runs,
            value=float(value) if not by_cols and _is_number(value) else value)

    def _once(self, text: str, database: str | None, language: str,
              timeout: float) -> tuple[float, float, Any, str]:
        """One query: (round trip ms, parse ms, answer, digest of the body)."""
        client = self.server.client()
        t0 = time.perf_counter()
        resp = client.query_response(text, database, language=language, timeout=timeout)
        t1 = time.perf_counter()
        answer = client.parse_query_response(resp, text, database, language=language)
        t2 = time.perf_counter()
        digest = hashlib.blake2b(resp.content, digest_size=16).hexdigest()
        return (t1 - t0) * 1000.0, (t2 - t1) * 1000.0, answer, digest


def _text(query: str | Query, language: str) -> str:
    if isinstance(query, Query):
        return query.render(language)
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty string or a Query, not {query!r}")
    return query


def _validate_runs(runs: int, warmup: int, budget_s: float | None, timeout: float,
                   max_runs: int) -> None:
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a positive integer, not {runs!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, not {warmup!r}")
    if budget_s is not None and budget_s <= 0:
        raise ValueError(f"budget_s must be > 0 seconds, not {budget_s!r}")
    if not timeout or timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, not {timeout!r}")
    if max_runs < 1:
        raise ValueError(f"max_runs must be >= 1, not {max_runs!r}")


def _done(done: int, runs: int, budget_s: float | None, began: float, max_runs: int) -> bool:
    if done >= max_runs:
        return True
    if budget_s is not None:
        return time.monotonic() - began >= budget_s
    return done >= runs


def _check_columns(frame: Any, wanted: tuple[str, ...], text: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none (the query returned no rows)"
        raise ValueError(f"column(s) {', '.join(missing)} not in the answer of {text!r}; "
                         f"columns: {have}")


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
