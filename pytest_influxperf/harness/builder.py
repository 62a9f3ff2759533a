"""A small, fluent query builder rendered as InfluxQL (every API) and SQL (InfluxDB 3).

Each method returns a new :class:`Query` (the old one is unchanged), so one base query can
be parametrized into many benchmarks::

    base = Query("cpu").where_tag("region", "eu").last(hours=1)
    base.aggregate("mean", "usage_user").group_by_time("1m").group_by("host").to_influxql()
    # SELECT MEAN("usage_user") AS "mean_usage_user" FROM "cpu" WHERE time >= now() - 1h
    #   AND "region" = 'eu' GROUP BY time(1m), "host"
    base.select("usage_user").order_by("time", desc=True).limit(10).to_sql()

Identifiers are double-quoted and string literals single-quoted with escapes, so tag
values from generated data cannot break the query.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from typing import Union

Literal = Union[str, int, float, bool]
TimeValue = Union[dt.datetime, str, int]

_DURATION = re.compile(r"^(\d+)(ns|us|µs|ms|s|m|h|d|w)$")
_SQL_UNITS = {"ns": "nanoseconds", "us": "microseconds", "µs": "microseconds",
              "ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days",
              "w": "weeks"}
# InfluxQL function -> SQL (DataFusion) function where the names differ.
_SQL_FUNCTIONS = {"mean": "avg", "stddev": "stddev", "median": "median", "count": "count",
                  "sum": "sum", "min": "min", "max": "max", "first": "first_value",
                  "last": "last_value", "spread": None, "percentile": None}
TAG_OPS = ("=", "!=", "=~", "!~")
FIELD_OPS = ("=", "!=", "<", "<=", ">", ">=")


@dataclasses.dataclass(frozen=True)
class Aggregate:
    function: str
    field: str
    arg: float | None = None
    alias: str | None = None

    @property
    def name(self) -> str:
        return self.alias or f"{self.function}_{self.field}"


@dataclasses.dataclass(frozen=True)
class Query:
    """A SELECT on one measurement. Build it fluently, render with :meth:`to_influxql` or
    :meth:`to_sql` (or :meth:`render` with a language name)."""

    measurement: str
    columns: tuple[str, ...] = ()
    aggregates: tuple[Aggregate, ...] = ()
    time_relative: str | None = None                  # a duration, "1h"
    time_start: str | None = None                     # RFC 3339, UTC, ns
    time_end: str | None = None
    tag_filters: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    field_filters: tuple[tuple[str, str, Literal], ...] = ()
    time_window: str | None = None
    fill: str | None = None
    group_tags: tuple[str, ...] = ()
    order: tuple[str, bool] | None = None             # (column, descending)
    row_limit: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.measurement, str) or not self.measurement:
            raise ValueError("Query needs a measurement name, e.g. Query('cpu')")

    # -- building --------------------------------------------------------------------
    def select(self, *columns: str) -> Query:
        """Project these fields/tags (default: every column, ``*``)."""
        for c in columns:
            _check_identifier(c, "column")
        return dataclasses.replace(self, columns=self.columns + tuple(columns))

    def aggregate(self, function: str, field: str, arg: float | None = None, *,
                  alias: str | None = None) -> Query:
        """Add ``FUNCTION(field)``, e.g. ``aggregate("mean", "usage")`` or
        ``aggregate("percentile", "usage", 95)``. Name in the answer: ``mean_usage``."""
        function = function.lower()
        if function not in _SQL_FUNCTIONS:
            raise ValueError(f"unknown aggregate {function!r}: use one of "
                             f"{', '.join(sorted(_SQL_FUNCTIONS))}")
        if function == "percentile" and arg is None:
            raise ValueError("percentile needs its rank: aggregate('percentile', field, 95)")
        _check_identifier(field, "field")
        agg = Aggregate(function, field, arg, alias)
        return dataclasses.replace(self, aggregates=self.aggregates + (agg,))

    def last(self, *, days: float = 0, hours: float = 0, minutes: float = 0,
             seconds: float = 0) -> Query:
        """Only the last span of time before now (replaces an earlier time range)."""
        total_s = days * 86400 + hours * 3600 + minutes * 60 + seconds
        if total_s <= 0:
            raise ValueError("last() needs a positive span, e.g. last(hours=1)")
        return dataclasses.replace(self, time_relative=_seconds_to_duration(total_s),
                                   time_start=None, time_end=None)

    def between(self, start: TimeValue, end: TimeValue | None = None) -> Query:
        """An absolute range, ``start <= time < end`` (``end=None``: open). Datetimes
        (naive ones are UTC), RFC 3339 strings or integer nanoseconds since the epoch."""
        s = _rfc3339(start)
        e = _rfc3339(end) if end is not None else None
        if end is not None and _as_ns(end) <= _as_ns(start):
            raise ValueError(f"between(): end {e} is not after start {s}")
        return dataclasses.replace(self, time_start=s, time_end=e, time_relative=None)

    def where_tag(self, tag: str, value: str | Sequence[str], op: str = "=") -> Query:
        """Filter on a tag; a list of values means any of them (``OR``)."""
        if op not in TAG_OPS:
            raise ValueError(f"tag operator must be one of {', '.join(TAG_OPS)}, not {op!r}")
        _check_identifier(tag, "tag")
        values = (value,) if isinstance(value, str) else tuple(value)
        if not values or not all(isinstance(v, str) for v in values):
            raise ValueError(f"where_tag({tag!r}, ...) needs a string or a list of strings")
        return dataclasses.replace(self, tag_filters=self.tag_filters + ((tag, op, values),))

    def where_field(self, field: str, op: str, value: Literal) -> Query:
        """Filter on a field value, e.g. ``where_field("usage", ">", 90)``."""
        if op not in FIELD_OPS:
            raise ValueError(f"field operator must be one of {', '.join(FIELD_OPS)}, not {op!r}")
        _check_identifier(field, "field")
        return dataclasses.replace(self, field_filters=self.field_filters + ((field, op, value),))

    def group_by_time(self, window: str, *, fill: str | None = None) -> Query:
        """Bucket by time, e.g. ``"10s"``, ``"5m"``; needs an aggregate. ``fill``: InfluxQL's
        ``none``, ``null``, ``previous``, ``linear`` or a number."""
        if not _DURATION.match(window):
            raise ValueError(f"time window {window!r}: use a number and a unit, e.g. '10s', '5m'")
        return dataclasses.replace(self, time_window=window, fill=fill)

    def group_by(self, *tags: str) -> Query:
        """Group by these tags (one result series per combination)."""
        for t in tags:
            _check_identifier(t, "tag")
        return dataclasses.replace(self, group_tags=self.group_tags + tuple(tags))

    def order_by(self, column: str = "time", *, desc: bool = False) -> Query:
        """Order rows (InfluxQL can only order by ``time``)."""
        _check_identifier(column, "column")
        return dataclasses.replace(self, order=(column, desc))

    def limit(self, n: int) -> Query:
        """At most ``n`` rows (per series in InfluxQL)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"limit must be a positive integer, not {n!r}")
        return dataclasses.replace(self, row_limit=n)

    # -- rendering -------------------------------------------------------------------
    def render(self, language: str = "influxql") -> str:
        """The query text in ``influxql`` or ``sql``."""
        if language == "influxql":
            return self.to_influxql()
        if language == "sql":
            return self.to_sql()
        raise ValueError(f"language must be 'influxql' or 'sql', not {language!r}")

    def __str__(self) -> str:
        return self.to_influxql()

    def to_influxql(self) -> str:
        """InfluxQL, understood by v1, v2 (``/query``) and v3 (``query_influxql``)."""
        self._check_shape()
        parts = [f"SELECT {self._influxql_projection()} FROM {_ident(self.measurement)}"]
        where = self._where(sql=False)
        if where:
            parts.append("WHERE " + " AND ".join(where))
        groups = ([f"time({self.time_window})"] if self.time_window else []) + \
            [_ident(t) for t in self.group_tags]
        if groups:
            parts.append("GROUP BY " + ", ".join(groups))
        if self.fill is not None:
            parts.append(f"fill({self.fill})")
        if self.order is not None:
            column, desc = self.order
            if column != "time":
                raise ValueError(f"InfluxQL orders only by time, not {column!r}: use to_sql() "
                                 "on InfluxDB 3 or sort the rows yourself")
            parts.append(f"ORDER BY time {'DESC' if desc else 'ASC'}")
        if self.row_limit is not None:
            parts.append(f"LIMIT {self.row_limit}")
        return " ".join(parts)

    def to_sql(self) -> str:
        """SQL for InfluxDB 3 (``/api/v3/query_sql``): the measurement is the table."""
        self._check_shape()
        if self.fill not in (None, "none"):
            raise ValueError("SQL rendering supports fill none only (InfluxDB 3 fills gaps with "
                             "date_bin_gapfill, which this builder does not write)")
        select: list[str] = []
        group: list[str] = []
        if self.time_window:
            bucket = f"date_bin(INTERVAL '{_sql_interval(self.time_window)}', time)"
            select.append(f"{bucket} AS time")
            group.append(bucket)
        select.extend(_ident(t) for t in self.group_tags)
        group.extend(_ident(t) for t in self.group_tags)
        if self.aggregates:
            select.extend(_sql_aggregate(a) for a in self.aggregates)
        elif self.columns:
            select.extend(_ident(c) for c in self.columns)
        else:
            select.append("*")
        parts = [f"SELECT {', '.join(select)} FROM {_ident(self.measurement)}"]
        where = self._where(sql=True)
        if where:
            parts.append("WHERE " + " AND ".join(where))
        if group and self.aggregates:
            parts.append("GROUP BY " + ", ".join(group))
        if self.order is not None:
            column, desc = self.order
            parts.append(f"ORDER BY {_ident(column) if column != 'time' else 'time'} "
                         f"{'DESC' if desc else 'ASC'}")
        if self.row_limit is not None:
            parts.append(f"LIMIT {self.row_limit}")
        return " ".join(parts)

    # -- pieces ----------------------------------------------------------------------
    def _check_shape(self) -> None:
        if self.time_window and not self.aggregates:
            raise ValueError("group_by_time() needs an aggregate, e.g. .aggregate('mean', field)")
        if self.aggregates and self.columns:
            raise ValueError("mix of select() columns and aggregate(): a grouped query returns "
                             "aggregates only; group_by() the tags you want to see instead")

    def _influxql_projection(self) -> str:
        if self.aggregates:
            return ", ".join(_influxql_aggregate(a) for a in self.aggregates)
        return ", ".join(_ident(c) for c in self.columns) if self.columns else "*"

    def _where(self, *, sql: bool) -> list[str]:
        out: list[str] = []
        if self.time_relative:
            out.append(f"time >= now() - INTERVAL '{_sql_interval(self.time_relative)}'" if sql
                       else f"time >= now() - {self.time_relative}")
        if self.time_start:
            # Both dialects compare time with an RFC 3339 string literal.
            out.append(f"time >= '{self.time_start}'")
        if self.time_end:
            out.append(f"time < '{self.time_end}'")
        for tag, op, values in self.tag_filters:
            out.append(_tag_condition(tag, op, values, sql))
        for field, op, value in self.field_filters:
            out.append(f"{_ident(field)} {op} {_literal(value)}")
        return out


# -- rendering helpers ---------------------------------------------------------------
def _check_identifier(name: str, what: str) -> None:
    if not isinstance(name, str) or not name or "\n" in name:
        raise ValueError(f"{what} name must be a non-empty string on one line, not {name!r}")


def _ident(name: str) -> str:
    if name == "*":
        return "*"
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(value: Literal) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _sql_literal(value: str) -> str:
    # SQL escapes a quote by doubling it; backslashes are literal.
    return "'" + value.replace("'", "''") + "'"


def _tag_condition(tag: str, op: str, values: tuple[str, ...], sql: bool) -> str:
    if op in ("=~", "!~"):
        if sql:
            sql_op = "~" if op == "=~" else "!~"
            terms = [f"{_ident(tag)} {sql_op} {_sql_literal(v)}" for v in values]
        else:
            terms = [f"{_ident(tag)} {op} /{v.replace('/', chr(92) + '/')}/" for v in values]
    else:
        lit = _sql_literal if sql else _literal
        terms = [f"{_ident(tag)} {op} {lit(v)}" for v in values]
    joiner = " OR " if op in ("=", "=~") else " AND "
    return terms[0] if len(terms) == 1 else "(" + joiner.join(terms) + ")"


def _influxql_aggregate(a: Aggregate) -> str:
    args = _ident(a.field) + (f", {a.arg:g}" if a.arg is not None else "")
    return f"{a.function.upper()}({args}) AS {_ident(a.name)}"


def _sql_aggregate(a: Aggregate) -> str:
    name = _SQL_FUNCTIONS[a.function]
    if a.function == "percentile":
        assert a.arg is not None
        expr = f"approx_percentile_cont({_ident(a.field)}, {a.arg / 100:g})"
    elif a.function == "spread":
        expr = f"max({_ident(a.field)}) - min({_ident(a.field)})"
    elif a.function in ("first", "last"):
        expr = f"{name}({_ident(a.field)} ORDER BY time)"
    else:
        expr = f"{name}({_ident(a.field)})"
    return f"{expr} AS {_ident(a.name)}"


def _sql_interval(duration: str) -> str:
    m = _DURATION.match(duration)
    if not m:
        raise ValueError(f"duration {duration!r}: use a number and a unit, e.g. '10s'")
    return f"{m.group(1)} {_SQL_UNITS[m.group(2)]}"


def _seconds_to_duration(total_s: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total_s % size == 0:
            return f"{int(total_s // size)}{unit}"
    return f"{int(round(total_s * 1000))}ms"


def _as_ns(value: TimeValue) -> int:
    if isinstance(value, bool):
        raise TypeError("a time must be a datetime, an RFC 3339 string or integer nanoseconds")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    raise TypeError(f"a time must be a datetime, an RFC 3339 string or integer nanoseconds, "
                    f"not {type(value).__name__}")


def _rfc3339(value: TimeValue) -> str:
    """UTC RFC 3339 with nanoseconds, which InfluxQL and SQL both read."""
    try:
        ns = _as_ns(value)
    except ValueError:
        raise ValueError(f"time {value!r} is not RFC 3339 (e.g. 2024-01-01T00:00:00Z)") from None
    seconds, frac = divmod(ns, 10**9)
    base = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"

