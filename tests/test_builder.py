"""The query builder: rendered text (InfluxQL and SQL), validation, and InfluxQL that a
real influxd answers as expected."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_influxperf.harness import Query

from .test_writer import BASE_NS, lines


def test_influxql_with_every_clause():
    q = (Query("cpu").aggregate("mean", "usage").where_tag("region", "eu")
         .where_field("usage", ">", 90).last(hours=1).group_by_time("10s", fill="none")
         .group_by("host").order_by("time", desc=True).limit(10))
    assert q.to_influxql() == (
        'SELECT MEAN("usage") AS "mean_usage" FROM "cpu" WHERE time >= now() - 1h AND '
        '"region" = \'eu\' AND "usage" > 90 GROUP BY time(10s), "host" fill(none) '
        "ORDER BY time DESC LIMIT 10")


def test_sql_with_every_clause():
    q = (Query("cpu").aggregate("mean", "usage").where_tag("region", "eu")
         .last(minutes=30).group_by_time("5m").group_by("host").order_by("time", desc=True)
         .limit(10))
    assert q.to_sql() == (
        "SELECT date_bin(INTERVAL '5 minutes', time) AS time, \"host\", avg(\"usage\") AS "
        "\"mean_usage\" FROM \"cpu\" WHERE time >= now() - INTERVAL '30 minutes' AND "
        "\"region\" = 'eu' GROUP BY date_bin(INTERVAL '5 minutes', time), \"host\" "
        "ORDER BY time DESC LIMIT 10")


def test_builder_is_immutable_so_one_base_serves_many_queries():
    base = Query("cpu").last(hours=1)
    a = base.select("usage")
    b = base.aggregate("max", "usage")
    assert base.to_influxql() == 'SELECT * FROM "cpu" WHERE time >= now() - 1h'
    assert a.to_influxql() != b.to_influxql()


def test_absolute_ranges_accept_datetimes_strings_and_nanoseconds():
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    q1 = Query("m").between(start, "2024-01-01T01:00:00Z")
    q2 = Query("m").between(1_704_067_200 * 10**9, 1_704_070_800 * 10**9)
    assert q1.to_influxql() == q2.to_influxql() == (
        "SELECT * FROM \"m\" WHERE time >= '2024-01-01T00:00:00.000000000Z' AND "
        "time < '2024-01-01T01:00:00.000000000Z'")
    assert "time >= now()" not in Query("m").last(hours=1).between(start).to_influxql()


def test_quotes_in_values_and_names_cannot_break_the_query():
    q = Query('we"ird').where_tag("host", "o'brien").where_tag("dc", ["a", "b"])
    assert q.to_influxql() == ('SELECT * FROM "we\\"ird" WHERE "host" = \'o\\\'brien\' AND '
                               '("dc" = \'a\' OR "dc" = \'b\')')
    assert "'o''brien'" in q.to_sql()


def test_regex_tag_filters_and_percentile():
    q = Query("m").where_tag("host", "^web", op="=~").aggregate("percentile", "lat", 95)
    assert q.to_influxql() == 'SELECT PERCENTILE("lat", 95) AS "percentile_lat" FROM "m" ' \
                              'WHERE "host" =~ /^web/'
    assert "approx_percentile_cont(\"lat\", 0.95)" in q.to_sql()
    assert "\"host\" ~ '^web'" in q.to_sql()


@pytest.mark.parametrize("build, message", [
    (lambda: Query(""), "needs a measurement"),
    (lambda: Query("m").aggregate("average", "v"), "unknown aggregate"),
    (lambda: Query("m").aggregate("percentile", "v"), "needs its rank"),
    (lambda: Query("m").group_by_time("ten seconds"), "time window"),
    (lambda: Query("m").last(), "positive span"),
    (lambda: Query("m").limit(0), "positive integer"),
    (lambda: Query("m").where_field("v", "<>", 1), "field operator"),
    (lambda: Query("m").where_tag("h", "a", op="<"), "tag operator"),
    (lambda: Query("m").between("2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z"), "not after"),
    (lambda: Query("m").between("yesterday"), "RFC 3339"),
    (lambda: Query("m").select("v").group_by_time("1m").to_influxql(), "needs an aggregate"),
    (lambda: Query("m").order_by("v").to_influxql(), "orders only by time"),
    (lambda: Query("m").aggregate("mean", "v").group_by_time("1m", fill="previous").to_sql(),
     "fill none only"),
])
def test_invalid_queries_say_what_to_do(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.fixture
def loaded(influx_writer):
    """30 points: 3 hosts x 10 seconds, usage = point index."""
    result = influx_writer.write(lines(30, hosts=3), batch_size=100)
    assert result.points_accepted == 30
    return influx_writer.default_database


def test_rendered_influxql_runs_on_a_real_server(loaded, influx_query):
    start, end = BASE_NS, BASE_NS + 10 * 10**9
    per_host = influx_query.run(Query("cpu").aggregate("count", "usage").between(start, end)
                                .group_by("host"), runs=1, warmup=0)
    assert sorted((r["host"], r["count_usage"]) for r in per_host.answer.rows) == \
        [("host0", 10), ("host1", 10), ("host2", 10)]
    windows = influx_query.run(Query("cpu").aggregate("count", "usage").between(start, end)
                               .where_tag("host", "host1").group_by_time("5s"), runs=1, warmup=0)
    assert [r["count_usage"] for r in windows.answer.rows] == [5, 5]
    latest = influx_query.run(Query("cpu").select("usage", "host").where_tag("host", ["host0"])
                              .where_field("n", ">=", 3).order_by("time", desc=True).limit(2),
                              runs=1, warmup=0)
    assert [r["usage"] for r in latest.answer.rows] == [27.5, 24.5]
