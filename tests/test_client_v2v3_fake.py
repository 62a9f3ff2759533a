"""The client's v2 and v3 paths, tested against FAKE InfluxDB 2 and 3 servers.

No InfluxDB 2 or 3 binary can be had on this machine, so these tests run the client
against fakes (``tests/fakes/influx_fake.py``) that answer as the InfluxDB documentation
and source say; ``docs/api-verification.md`` lists the sources. The v1 path is tested
against a real influxd elsewhere. Every test here names the fake it uses.
"""

from __future__ import annotations

import gzip
import json

import pytest

from pytest_influxperf.client import InfluxClient, detect_api
from pytest_influxperf.client.client import interpret_write
from pytest_influxperf.errors import (
    AuthError,
    DatabaseNotFound,
    QueryError,
    WriteError,
)
from pytest_influxperf.servers.url import UrlServer
from tests.fakes.influx_fake import FakeInfluxDB2, FakeInfluxDB3

TOKEN2 = "v2-fake-token-7YqL2pWx"
TOKEN3 = "apiv3_fake-admin-token-Kd93Tz"
ORG = "perf-org"
LINES = ["cpu,host=a usage=0.5 1700000000000000000",
         "cpu,host=b usage=0.7 1700000000000000000",
         "cpu,host=a usage=0.6 1700000001000000000"]


@pytest.fixture
def fake2():
    with FakeInfluxDB2(token=TOKEN2, org=ORG) as fake:
        yield fake


@pytest.fixture
def fake3():
    with FakeInfluxDB3(token=TOKEN3) as fake:
        yield fake


@pytest.fixture
def client2(fake2):
    client = InfluxClient(fake2.url, api="v2", token=TOKEN2, org=ORG, timeout=5)
    yield client
    client.close()


@pytest.fixture
def client3(fake3):
    client = InfluxClient(fake3.url, api="v3", token=TOKEN3, timeout=5)
    yield client
    client.close()


# -- detection and auth ------------------------------------------------------------------
def test_fake_v2_detect_api_reads_version_header(fake2):
    assert detect_api(fake2.url, token=TOKEN2) == ("v2", "2.7.4")
    assert fake2.last("GET", "/ping").headers["authorization"] == f"Token {TOKEN2}"


def test_fake_v2_ping_needs_no_token(fake2):
    assert detect_api(fake2.url) == ("v2", "2.7.4")
    assert "authorization" not in fake2.last("GET", "/ping").headers


def test_fake_v3_detect_api_reads_version(fake3):
    assert detect_api(fake3.url, token=TOKEN3) == ("v3", "3.2.1")


def test_fake_v3_ping_without_token_is_an_auth_error(fake3):
    """InfluxDB 3 guards /ping by default: a missing token must say so, not 'not an InfluxDB'."""
    with pytest.raises(AuthError, match="token"):
        detect_api(fake3.url)


def test_fake_v3_open_ping_answers_without_token():
    """Like a server started with --disable-authz ping: version from header and JSON body."""
    with FakeInfluxDB3(token=TOKEN3, version="3.0.3", open_paths=("/ping",)) as fake:
        assert detect_api(fake.url) == ("v3", "3.0.3")
        assert "authorization" not in fake.last("GET", "/ping").headers


def test_fake_v3_version_from_json_body_when_header_missing(fake3):
    """A proxy may drop X-Influxdb-Version; the /ping JSON body still says the version."""
    fake3.route("GET", "/ping", (200, {}, {"version": "3.1.0", "revision": "abc",
                                           "process_id": "0"}))
    assert detect_api(fake3.url, token=TOKEN3) == ("v3", "3.1.0")


def test_fake_auth_header_forms(client2, client3):
    assert client2.auth_headers() == {"Authorization": f"Token {TOKEN2}"}
    assert client3.auth_headers() == {"Authorization": f"Bearer {TOKEN3}"}


def test_fake_v3_client_requests_carry_bearer(client3, fake3):
    client3.list_databases()
    assert fake3.last("GET", "/api/v3/configure/database").headers["authorization"] \
        == f"Bearer {TOKEN3}"


# -- databases -----------------------------------------------------------------------------
def test_fake_v2_create_list_drop_bucket(client2, fake2):
    client2.create_database("bench_1")
    org_id = fake2.orgs[ORG]
    assert fake2.last("GET", "/api/v2/orgs").query == {"org": ORG}
    assert fake2.last("POST", "/api/v2/buckets").json() == {
        "orgID": org_id, "name": "bench_1", "retentionRules": []}
    bucket_id = fake2.buckets["bench_1"]["id"]
    assert fake2.last("POST", "/api/v2/dbrps").json() == {
        "bucketID": bucket_id, "orgID": org_id, "database": "bench_1",
        "retention_policy": "autogen", "default": True}
    assert "bench_1" in client2.list_databases()

    client2.create_database("bench_1")  # 422 "already exists" is fine
    assert len(fake2.find("POST", "/api/v2/buckets")) == 2

    client2.drop_database("bench_1")
    assert fake2.last("DELETE").path == f"/api/v2/buckets/{bucket_id}"
    assert "bench_1" not in client2.list_databases()
    client2.drop_database("bench_1")  # a missing bucket is fine
    assert len(fake2.find("DELETE")) == 1


def test_fake_v2_unknown_org_says_pass_influx_org(fake2):
    client = InfluxClient(fake2.url, api="v2", token=TOKEN2, org="no-such-org", timeout=5)
    with pytest.raises(QueryError, match="--influx-org"):
        client.create_database("bench_1")
    client.close()


def test_fake_v2_failed_dbrp_mapping_raises(client2, fake2):
    fake2.route("POST", "/api/v2/dbrps", (400, {}, {"code": "invalid", "message": "bad mapping"}))
    with pytest.raises(QueryError, match="bad mapping"):
        client2.create_database("bench_1")


def test_fake_v3_create_list_drop_database(client3, fake3):
    client3.create_database("bench_3")
    create = fake3.last("POST", "/api/v3/configure/database")
    assert create.json() == {"db": "bench_3"}
    assert create.headers["content-type"] == "application/json"
    assert "bench_3" in client3.list_databases()
    assert fake3.last("GET", "/api/v3/configure/database").query == {"format": "json"}

    client3.create_database("bench_3")  # 409 conflict is fine

    client3.drop_database("bench_3")
    assert fake3.last("DELETE", "/api/v3/configure/database").query == {
        "db": "bench_3", "hard_delete_at": "now"}
    assert "bench_3" not in client3.list_databases()
    client3.drop_database("bench_3")  # 404 for a missing one is fine


# -- writes --------------------------------------------------------------------------------
def test_fake_v2_write_target(client2):
    target = client2.write_target("bench", precision="ms", gzip=True)
    assert target.url == f"{client2.url}/api/v2/write"
    assert target.params == {"bucket": "bench", "precision": "ms", "org": ORG}
    assert target.headers["Content-Encoding"] == "gzip"
    assert target.headers["Authorization"] == f"Token {TOKEN2}"
    assert target.headers["Content-Type"].startswith("text/plain")


def test_fake_v2_write_without_org_sends_org_id(fake2):
    """InfluxDB OSS 2 needs org or orgID on every write; the fake refuses neither (400)."""
    fake2.add_bucket("bench", fake2.orgs[ORG])
    client = InfluxClient(fake2.url, api="v2", token=TOKEN2, timeout=5)
    answer = client.write(LINES, "bench")
    client.close()
    assert (answer.status, answer.rejected) == (204, 0)
    assert fake2.last("POST", "/api/v2/write").query == {
        "bucket": "bench", "precision": "ns", "orgID": fake2.orgs[ORG]}


def test_fake_v2_gzip_write_lands(client2, fake2):
    client2.create_database("bench")
    answer = client2.write(LINES, "bench", gzip=True)
    sent = fake2.last("POST", "/api/v2/write")
    assert sent.headers["content-encoding"] == "gzip"
    assert gzip.decompress(sent.raw_body) == "\n".join(LINES).encode()
    assert (answer.status, answer.rejected) == (204, 0)
    assert fake2.points["bench"] == LINES


def test_fake_v2_parse_error_refuses_whole_body(client2, fake2):
    client2.create_database("bench")
    answer = client2.write([LINES[0], "cpu,host=a", LINES[1]], "bench")
    assert (answer.status, answer.rejected) == (400, 3)
    assert "unable to parse" in answer.message
    assert fake2.points.get("bench", []) == []


def test_fake_v2_partial_write_422_counts_dropped(client2, fake2):
    client2.create_database("bench")
    client2.write("cpu,host=a usage=0.5 1", "bench")
    batch = ["cpu,host=a usage=1.5 2", 'cpu,host=a usage="high" 3', "cpu,host=a usage=2.5 4"]
    answer = client2.write(batch, "bench")
    assert (answer.status, answer.rejected) == (422, 1)
    assert "dropped=1" in answer.message
    assert len(fake2.points["bench"]) == 3


def test_fake_v2_points_outside_retention_are_counted():
    with FakeInfluxDB2(token=TOKEN2, org=ORG, retention_floor_ns=10) as fake:
        client = InfluxClient(fake.url, api="v2", token=TOKEN2, org=ORG, timeout=5)
        client.create_database("bench")
        answer = client.write(["m v=1 1", "m v=2 2", "m v=3 20"], "bench")
        client.close()
        assert (answer.status, answer.rejected) == (422, 2)
        assert fake.points["bench"] == ["m v=3 20"]


def test_v2_documented_422_message_counts_dropped_points():
    """The 422 message exactly as the InfluxDB OSS 2 docs print it: text follows the count."""
    message = ("failure writing points to database: partial write: dropped 4 points outside "
               "retention policy of duration 24h0m0s - oldest point home,room=Living\\ Room at "
               "1970-01-01T00:00:01.541Z dropped because it violates a Retention Policy Lower "
               "Bound at 2025-05-20T19:06:17.612973Z dropped=4 for database: 9f282d63c7d3a5c0 "
               "for retention policy: autogen")
    body = json.dumps({"code": "unprocessable entity", "message": message})
    assert interpret_write("v2", 422, body, 10, "bench").rejected == 4


def test_fake_v2_missing_bucket_is_database_not_found(client2):
    with pytest.raises(DatabaseNotFound, match="nope"):
        client2.write(LINES, "nope")


def test_fake_v2_write_to_unknown_org_is_not_a_missing_bucket(fake2):
    fake2.add_bucket("bench", fake2.orgs[ORG])
    client = InfluxClient(fake2.url, api="v2", token=TOKEN2, org="other-org", timeout=5)
    with pytest.raises(WriteError, match="--influx-org"):
        client.write(LINES, "bench")
    client.close()


@pytest.mark.parametrize("status", [429, 503])
def test_fake_v2_overload_is_a_write_error_with_its_status(client2, fake2, status):
    """Only a loaded server answers 429/503 (with Retry-After): a fake route shows it."""
    client2.create_database("bench")
    fake2.route("POST", "/api/v2/write", (status, {"Retry-After": "1"},
                                          {"code": "too many requests", "message": "slow down"}))
    with pytest.raises(WriteError, match="slow down") as info:
        client2.write(LINES, "bench")
    assert info.value.status == status


def test_fake_v3_write_target(client3):
    for precision, name in [("ns", "nanosecond"), ("us", "microsecond"),
                            ("ms", "millisecond"), ("s", "second")]:
        target = client3.write_target("bench", precision=precision)
        assert target.url == f"{client3.url}/api/v3/write_lp"
        assert target.params == {"db": "bench", "precision": name}
        assert "Content-Encoding" not in target.headers
    assert client3.write_target("bench", gzip=True).headers["Content-Encoding"] == "gzip"


def test_fake_v3_gzip_write_lands(client3, fake3):
    answer = client3.write(LINES, "bench", gzip=True)
    assert fake3.last("POST", "/api/v3/write_lp").headers["content-encoding"] == "gzip"
    assert (answer.status, answer.rejected) == (204, 0)
    assert fake3.points["bench"] == LINES


def test_fake_v3_partial_write_counts_invalid_lines(client3, fake3):
    batch = ["home,room=a temp=21.0 1", "home,room=a", 'home,room=a temp="hi" 2',
             "home,room=b temp=22.0 3"]
    answer = client3.write(batch, "bench")
    assert (answer.status, answer.rejected) == (400, 2)
    assert answer.message == "partial write of line protocol occurred"
    assert fake3.points["bench"] == [batch[0], batch[3]]


def test_v3_refused_batch_counts_every_line():
    """With accept_partial=false, InfluxDB 3 answers 400 with one ``data`` object (not a
    list) and writes nothing: every line of the batch is rejected."""
    body = json.dumps({"error": "parsing failed for write_lp endpoint",
                       "data": {"original_line": "home temp=hi", "line_number": 2,
                                "error_message": "invalid column type"}})
    assert interpret_write("v3", 400, body, 5, "bench").rejected == 5


# -- auth errors never show the token ------------------------------------------------------
def test_fake_v2_wrong_token_is_auth_error_without_token(fake2):
    wrong = "wrong-v2-token-Hh73Lx"
    client = InfluxClient(fake2.url, api="v2", token=wrong, org=ORG, timeout=5)
    with pytest.raises(AuthError) as info:
        client.create_database("bench")
    client.close()
    assert "401" in str(info.value)
    assert wrong not in str(info.value) and wrong not in repr(client)


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_fake_401_echoing_the_token_is_redacted(api, fake2, fake3):
    """A server that echoes the token in its 401 body must not leak it into the error."""
    fake, token = (fake2, TOKEN2) if api == "v2" else (fake3, TOKEN3)
    path = "/api/v2/write" if api == "v2" else "/api/v3/write_lp"
    fake.route("POST", path, (401, {}, {"code": "unauthorized",
                                        "message": f"token {token} may not write"}))
    client = InfluxClient(fake.url, api=api, token=token, org=ORG, timeout=5)
    server = UrlServer(fake.url, token=token, org=ORG)
    with pytest.raises(AuthError) as info:
        client.write(LINES, "bench")
    client.close()
    assert "may not write" in str(info.value) and "***" in str(info.value)
    for text in (str(info.value), repr(info.value), repr(client), repr(server),
                 repr(client.write_target("bench"))):
        assert token not in text


def test_fake_v3_wrong_token_is_auth_error(fake3):
    client = InfluxClient(fake3.url, api="v3", token="wrong-v3-token-9Pqr", timeout=5)
    with pytest.raises(AuthError, match="401"):
        client.create_database("bench")
    client.close()


# -- queries -------------------------------------------------------------------------------
SERIES_ANSWER = {"results": [{"statement_id": 0, "series": [
    {"name": "cpu", "tags": {"host": "a"}, "columns": ["time", "usage"],
     "values": [[1700000000000000000, 0.5], [1700000001000000000, 0.6]]},
    {"name": "cpu", "tags": {"host": "b"}, "columns": ["time", "usage"],
     "values": [[1700000000000000000, 0.7]]}]}]}


def test_fake_v2_influxql_query_parses_series(client2, fake2):
    q = 'SELECT usage FROM cpu GROUP BY "host"'
    client2.create_database("bench")
    fake2.influxql_answers[q] = SERIES_ANSWER
    answer = client2.query(q, "bench")
    assert answer.rows == [
        {"_measurement": "cpu", "host": "a", "time": 1700000000000000000, "usage": 0.5},
        {"_measurement": "cpu", "host": "a", "time": 1700000001000000000, "usage": 0.6},
        {"_measurement": "cpu", "host": "b", "time": 1700000000000000000, "usage": 0.7}]
    sent = fake2.last(path="/query")
    assert (sent.method, sent.query) == ("GET", {"q": q, "epoch": "ns", "db": "bench"})
    assert sent.headers["authorization"] == f"Token {TOKEN2}"


def test_fake_v2_error_inside_200_raises(client2, fake2):
    q = "SELECT FROM"
    client2.create_database("bench")
    fake2.influxql_answers[q] = {"results": [{"statement_id": 0,
                                              "error": "error parsing query: found FROM"}]}
    with pytest.raises(QueryError, match="found FROM"):
        client2.query(q, "bench")


def test_fake_v2_unmapped_database_is_database_not_found(client2):
    with pytest.raises(DatabaseNotFound, match="nope"):
        client2.query("SELECT * FROM cpu", "nope")


def test_fake_v2_code_message_error_body_is_readable(client2, fake2):
    fake2.route("GET", "/query", (400, {}, {"code": "invalid", "message": "missing db"}))
    with pytest.raises(QueryError, match="missing db"):
        client2.query("SELECT * FROM cpu")


def test_fake_v2_sql_needs_v3(client2):
    with pytest.raises(QueryError, match="InfluxDB 3"):
        client2.query("SELECT 1", "bench", language="sql")


def test_fake_v3_sql_query_parses_json_rows(client3, fake3):
    q = "SELECT host, usage, time FROM cpu ORDER BY time"
    rows = [{"host": "a", "usage": 0.5, "time": "2023-11-14T22:13:20"},
            {"host": "b", "usage": 0.7, "time": "2023-11-14T22:13:21"}]
    client3.create_database("bench")
    fake3.answers[q] = rows
    answer = client3.query(q, "bench", language="sql")
    assert answer.rows == rows and answer.column("host") == ["a", "b"]
    assert fake3.last("POST", "/api/v3/query_sql").json() == {"q": q, "format": "json",
                                                              "db": "bench"}


def test_fake_v3_influxql_goes_to_query_influxql(client3, fake3):
    fake3.answers["SHOW DATABASES"] = [{"iox::database": "bench"}]
    answer = client3.query("SHOW DATABASES")
    assert answer.rows == [{"iox::database": "bench"}]
    # no database given: no "db" key (query_influxql takes it from the query, if any)
    assert fake3.last("POST", "/api/v3/query_influxql").json() == {"q": "SHOW DATABASES",
                                                                   "format": "json"}


def test_fake_v3_unknown_database_is_database_not_found(client3):
    with pytest.raises(DatabaseNotFound, match="nope"):
        client3.query("SELECT 1", "nope", language="sql")


@pytest.mark.parametrize("body", [b'[{"host":"a"},{"host":', b'{"error": "query was cancelled"}',
                                  b'"just a string"'])
def test_fake_v3_bad_200_answer_raises_query_error(client3, fake3, body):
    """format=json streams after the 200 status: an error mid-stream cuts the array short."""
    client3.create_database("bench")
    fake3.answers["SELECT * FROM cpu"] = body
    with pytest.raises(QueryError):
        client3.query("SELECT * FROM cpu", "bench", language="sql")
