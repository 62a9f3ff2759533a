"""FAKE InfluxDB HTTP servers for the plugin's own tests. They are not InfluxDB.

Use them only for what a real server cannot show on this machine: the v2 and v3 APIs (no
InfluxDB 2 or 3 binary can be had here), and answers a real server gives only under load
(429, 503) or by accident (a body cut short). Everything a real influxd 1.x can show is
tested against a real influxd.

- :class:`FakeInfluxServer` is general: ``routes`` map ``(METHOD, path)`` to a reply
  ``(status, headers, body)`` or to a callable ``request -> reply``. A path ending in
  ``/*`` matches any path under it. ``body`` may be ``bytes``, ``str`` or anything JSON
  can encode (sent as ``application/json``). Every request is recorded.
- :class:`FakeInfluxDB2` and :class:`FakeInfluxDB3` pre-load routes that answer as the
  InfluxDB documentation and source say (sources: ``docs/api-verification.md``). Any
  route can be replaced with :meth:`FakeInfluxServer.route`, e.g. to answer 429.

>>> import requests
>>> with FakeInfluxServer({("GET", "/ping"): (204, {"X-Influxdb-Version": "1.8.10"}, b"")}) as fake:
...     requests.get(fake.url + "/ping", timeout=5).status_code
204
"""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import itertools
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Union

Reply = tuple[int, Mapping[str, str], Any]
Route = Union[Reply, Callable[["RecordedRequest"], Reply]]


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it. ``headers`` keys are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes

    @property
    def body(self) -> bytes:
        """The body, un-gzipped when the request said ``Content-Encoding: gzip``."""
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.raw_body)
        return self.raw_body

    def json(self) -> Any:
        return json.loads(self.body)


class FakeInfluxServer:
    """A FAKE InfluxDB HTTP server on ``127.0.0.1`` (a free port), in a background thread."""

    label = "fake InfluxDB"

    def __init__(self, routes: Mapping[tuple[str, str], Route] | None = None) -> None:
        self.routes: dict[tuple[str, str], Route] = dict(routes or {})
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeInfluxServer:
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"{self.label} {self.url}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeInfluxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{self.label} is not started: use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "(stopped)"
        return f"<{type(self).__name__} {self.label} {where}>"

    # -- routes and records ----------------------------------------------------------
    def route(self, method: str, path: str, reply: Route) -> FakeInfluxServer:
        """Answer ``method path`` with ``reply`` from now on (replacing any earlier route)."""
        self.routes[(method.upper(), path)] = reply
        return self

    def find(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, oldest first, optionally only one method and/or path."""
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method.upper())
                    and (path is None or r.path == path)]

    def last(self, method: str | None = None, path: str | None = None) -> RecordedRequest:
        """The latest matching request; fails with the list of what was seen instead."""
        found = self.find(method, path)
        if not found:
            seen = [f"{r.method} {r.path}" for r in self.find()]
            raise AssertionError(f"{self.label} got no {method or '*'} {path or '*'}; saw {seen}")
        return found[-1]

    def dispatch(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
        route = self.routes.get((request.method, request.path))
        if route is None:
            route = self._prefix_route(request)
        if route is None:
            return 404, {}, "not found"
        return route(request) if callable(route) else route

    def _prefix_route(self, request: RecordedRequest) -> Route | None:
        for (method, path), route in self.routes.items():
            if method == request.method and path.endswith("/*") \
                    and request.path.startswith(path[:-1]):
                return route
        return None


def _handler_for(fake: FakeInfluxServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no thread lingers after stop().
        protocol_version = "HTTP/1.0"

        def _handle(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(
                method=self.command, path=parsed.path,
                query=dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                raw_body=self.rfile.read(length) if length else b"")
            try:
                status, headers, body = fake.dispatch(request)
            except Exception as exc:  # a bug in a fake must show, not hang the client
                status, headers, body = 500, {}, f"{fake.label} failed: {exc!r}"
            payload, content_type = _encode(body)
            self.send_response(status)
            if content_type and not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", content_type)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


def _encode(body: Any) -> tuple[bytes, str | None]:
    if body is None:
        return b"", None
    if isinstance(body, bytes):
        return body, None
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json"


# -- a tiny line protocol reader (no escapes: enough for a fake) ----------------------
def parse_line(line: str) -> tuple[str, dict[str, str], dict[str, object], int | None]:
    """Split ``measurement[,k=v...] field=value[,...] [timestamp]``; ValueError if malformed."""
    parts = line.split(" ")
    if len(parts) not in (2, 3):
        raise ValueError("missing fields")
    measurement, *tag_pairs = parts[0].split(",")
    if not measurement or any("=" not in pair for pair in tag_pairs):
        raise ValueError("missing tag value")
    fields: dict[str, object] = {}
    for pair in parts[1].split(","):
        key, sep, value = pair.partition("=")
        if not key or not sep or not value:
            raise ValueError("missing fields")
        fields[key] = _field_value(value)
    timestamp = int(parts[2]) if len(parts) == 3 else None
    return measurement, dict(p.split("=", 1) for p in tag_pairs), fields, timestamp


def _field_value(text: str) -> object:
    if text.endswith("i") and text[:-1].lstrip("-").isdigit():
        return int(text[:-1])
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text in ("t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"):
        return text.lower().startswith("t")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"invalid field value {text!r}") from None


_TYPE_NAMES = {int: "integer", float: "float", str: "string", bool: "boolean"}


def _split_body(body: bytes) -> list[str]:
    return [line for line in body.decode().split("\n") if line.strip()]


class _Schema:
    """Field types per (database, measurement, field), as both engines enforce them."""

    def __init__(self) -> None:
        self.types: dict[tuple[str, str, str], type] = {}

    def conflict(self, db: str, measurement: str, fields: dict[str, object]) -> str | None:
        for name, value in fields.items():
            known = self.types.get((db, measurement, name))
            if known is not None and known is not type(value):
                return (f'field type conflict: input field "{name}" on measurement '
                        f'"{measurement}" is type {_TYPE_NAMES[type(value)]}, already exists '
                        f"as type {_TYPE_NAMES[known]}")
        return None

    def learn(self, db: str, measurement: str, fields: dict[str, object]) -> None:
        for name, value in fields.items():
            self.types.setdefault((db, measurement, name), type(value))


# -- InfluxDB OSS 2.x ------------------------------------------------------------------
class FakeInfluxDB2(FakeInfluxServer):
    """A FAKE InfluxDB OSS 2.x: /ping, orgs, buckets, DBRPs, /api/v2/write, /query.

    Writes: a parse error refuses the whole body (400, first bad line in ``message``);
    type conflicts and points older than ``retention_floor_ns`` are dropped and answered
    422 "partial write: ... dropped=N", the rest is kept in ``points[bucket]``.
    ``/query`` answers ``influxql_answers[q]`` (default: no series) for a mapped database,
    else ``database not found`` inside a 200 answer, the way InfluxQL reports it.
    """

    label = "fake InfluxDB 2"

    def __init__(self, *, token: str, org: str = "perf-org", version: str = "v2.7.4",
                 retention_floor_ns: int = 0) -> None:
        super().__init__()
        self.token, self.version, self.retention_floor_ns = token, version, retention_floor_ns
        self.orgs = {org: "0a1b2c3d4e5f6071"}
        self.buckets: dict[str, dict[str, str]] = {}
        self.dbrps: list[dict[str, Any]] = []
        self.points: dict[str, list[str]] = {}
        self.influxql_answers: dict[str, Any] = {}
        self._schema = _Schema()
        self._ids = itertools.count(0x1000)
        for name in ("_monitoring", "_tasks"):  # system buckets every 2.x org has
            self.add_bucket(name, next(iter(self.orgs.values())))
        guarded = {
            ("GET", "/api/v2/orgs"): self._orgs, ("GET", "/api/v2/buckets"): self._list_buckets,
            ("POST", "/api/v2/buckets"): self._create_bucket,
            ("DELETE", "/api/v2/buckets/*"): self._delete_bucket,
            ("POST", "/api/v2/dbrps"): self._create_dbrp, ("POST", "/api/v2/write"): self._write,
            ("GET", "/query"): self._query, ("POST", "/query"): self._query,
        }
        self.routes.update({key: self._authorized(handler) for key, handler in guarded.items()})
        ping = (204, {"X-Influxdb-Version": version, "X-Influxdb-Build": "OSS"}, None)
        self.routes.update({("GET", "/ping"): ping, ("HEAD", "/ping"): ping,
                            ("GET", "/health"): (200, {}, {"name": "influxdb", "status": "pass",
                                                           "message": "ready for queries and writes",
                                                           "version": version, "checks": []})})

    def _authorized(self, handler: Callable[[RecordedRequest], Reply]) -> Callable[..., Reply]:
        def guarded(request: RecordedRequest) -> Reply:
            if request.headers.get("authorization") != f"Token {self.token}":
                return 401, {}, {"code": "unauthorized", "message": "unauthorized access"}
            return handler(request)
        return guarded

    def add_bucket(self, name: str, org_id: str) -> dict[str, str]:
        """Make a bucket directly (as if created earlier) and return its JSON object."""
        bucket = {"id": f"{next(self._ids):016x}", "name": name, "orgID": org_id,
                  "type": "system" if name.startswith("_") else "user"}
        self.buckets[name] = bucket
        return bucket

    def _orgs(self, request: RecordedRequest) -> Reply:
        wanted = request.query.get("org")
        if wanted is not None and wanted not in self.orgs:
            return 404, {}, {"code": "not found", "message": f'organization name "{wanted}" not found'}
        orgs = [{"id": i, "name": n} for n, i in self.orgs.items() if wanted in (None, n)]
        return 200, {}, {"links": {"self": "/api/v2/orgs"}, "orgs": orgs}

    def _list_buckets(self, request: RecordedRequest) -> Reply:
        name = request.query.get("name")
        found = [b for b in self.buckets.values() if name in (None, b["name"])]
        return 200, {}, {"links": {"self": "/api/v2/buckets"},
                         "buckets": found[: int(request.query.get("limit", "20"))]}

    def _create_bucket(self, request: RecordedRequest) -> Reply:
        body = request.json()
        if body.get("orgID") not in self.orgs.values() or not body.get("name"):
            return 400, {}, {"code": "invalid", "message": "bucket requires a name and a valid orgID"}
        if body["name"] in self.buckets:
            return 422, {}, {"code": "conflict",
                             "message": f"bucket with name {body['name']} already exists"}
        return 201, {}, self.add_bucket(body["name"], body["orgID"])

    def _delete_bucket(self, request: RecordedRequest) -> Reply:
        bucket_id = request.path.rsplit("/", 1)[-1]
        for name, bucket in list(self.buckets.items()):
            if bucket["id"] == bucket_id:
                del self.buckets[name]
                self.points.pop(name, None)
                self.dbrps = [m for m in self.dbrps if m["bucketID"] != bucket_id]
                return 204, {}, None
        return 404, {}, {"code": "not found", "message": "bucket not found"}

    def _create_dbrp(self, request: RecordedRequest) -> Reply:
        body = request.json()
        missing = [k for k in ("bucketID", "database", "retention_policy") if not body.get(k)]
        if missing or not (body.get("orgID") or body.get("org")):
            return 400, {}, {"code": "invalid", "message": f"missing {missing or ['org or orgID']}"}
        mapping = {"id": f"{next(self._ids):016x}", **body}
        self.dbrps.append(mapping)
        return 201, {}, mapping

    def _write(self, request: RecordedRequest) -> Reply:
        org, org_id = request.query.get("org"), request.query.get("orgID")
        if not org and not org_id:
            return 400, {}, {"code": "invalid", "message": "Please provide either orgID or org"}
        if org is not None and org not in self.orgs:
            return 404, {}, {"code": "not found", "message": f'organization name "{org}" not found'}
        if org_id is not None and org_id not in self.orgs.values():
            return 404, {}, {"code": "not found", "message": f'organization "{org_id}" not found'}
        name = request.query.get("bucket", "")
        if name not in self.buckets:
            return 404, {}, {"code": "not found", "message": f'bucket "{name}" not found'}
        if request.query.get("precision", "ns") not in ("ns", "us", "ms", "s"):
            return 400, {}, {"code": "invalid", "message": "invalid precision"}
        lines = _split_body(request.body)
        parsed = []
        for line in lines:  # the whole body is parsed before anything is written
            try:
                parsed.append((line, parse_line(line)))
            except ValueError as exc:
                return 400, {}, {"code": "invalid", "message": f"unable to parse '{line}': {exc}"}
        dropped, reasons = 0, []
        for line, (measurement, _tags, fields, ts) in parsed:
            conflict = self._schema.conflict(name, measurement, fields)
            if conflict or (ts is not None and ts < self.retention_floor_ns):
                dropped += 1
                reasons.append(conflict or "points beyond retention policy")
                continue
            self._schema.learn(name, measurement, fields)
            self.points.setdefault(name, []).append(line)
        if dropped:
            return 422, {}, {"code": "unprocessable entity",
                             "message": f"failure writing points to database: partial write: "
                                        f"{reasons[0]} dropped={dropped} for database: "
                                        f"{self.buckets[name]['id']} for retention policy: autogen"}
        return 204, {}, None

    def _query(self, request: RecordedRequest) -> Reply:
        params = dict(request.query)
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            params.update(urllib.parse.parse_qsl(request.body.decode()))
        q, db = params.get("q", ""), params.get("db")
        mapped = db in self.buckets or any(m["database"] == db for m in self.dbrps)
        if q in self.influxql_answers:
            return 200, {}, self.influxql_answers[q]
        if not mapped:
            return 200, {}, {"results": [{"statement_id": 0, "error": f"database not found: {db}"}]}
        return 200, {}, {"results": [{"statement_id": 0}]}


# -- InfluxDB 3 Core / Enterprise ------------------------------------------------------
class FakeInfluxDB3(FakeInfluxServer):
    """A FAKE InfluxDB 3 Core: /ping, /api/v3/configure/database, write_lp, query_sql/influxql.

    Every path needs ``Authorization: Bearer|Token <token>`` (as Core does by default, /ping
    included) unless listed in ``open_paths`` (like ``--disable-authz ping``). ``write_lp``
    creates the database, keeps the valid lines (``accept_partial=true``, the default) and
    answers 400 with the invalid ones in ``data``; ``accept_partial=false`` refuses all.
    Queries answer ``answers[q]``: a list is sent as JSON, ``bytes``/``str`` as they are
    (e.g. an array cut short, as when the server fails while streaming).
    """

    label = "fake InfluxDB 3"
    PRECISIONS = ("auto", "second", "millisecond", "microsecond", "nanosecond")

    def __init__(self, *, token: str, version: str = "3.2.1",
                 open_paths: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.token, self.version, self.open_paths = token, version, set(open_paths)
        self.databases: set[str] = set()
        self.points: dict[str, list[str]] = {}
        self.answers: dict[str, Any] = {}
        self._schema = _Schema()
        handlers = {
            ("GET", "/ping"): self._ping, ("POST", "/ping"): self._ping,
            ("GET", "/health"): lambda r: (200, {}, "OK"),
            ("GET", "/api/v3/configure/database"): self._list_databases,
            ("POST", "/api/v3/configure/database"): self._create_database,
            ("DELETE", "/api/v3/configure/database"): self._delete_database,
            ("POST", "/api/v3/write_lp"): self._write_lp,
            ("POST", "/api/v3/query_sql"): self._query, ("GET", "/api/v3/query_sql"): self._query,
            ("POST", "/api/v3/query_influxql"): self._query,
            ("GET", "/api/v3/query_influxql"): self._query,
        }
        self.routes.update({key: self._authorized(h) for key, h in handlers.items()})

    def _authorized(self, handler: Callable[[RecordedRequest], Reply]) -> Callable[..., Reply]:
        def guarded(request: RecordedRequest) -> Reply:
            if request.path in self.open_paths:
                return handler(request)
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme and scheme not in ("Bearer", "Token", "Basic"):
                return 400, {}, {"error": "Authorization header was malformed, the request was "
                                          "not in the form of 'Authorization: <auth-scheme> "
                                          "<token>', supported auth-schemes are Bearer, Token "
                                          "and Basic"}
            if token != self.token:
                return 401, {}, None
            return handler(request)
        return guarded

    def _ping(self, request: RecordedRequest) -> Reply:
        headers = {"X-Influxdb-Version": self.version, "X-Influxdb-Build": "Core"}
        return 200, headers, {"version": self.version, "revision": "0123abc",
                              "process_id": str(uuid.uuid4())}

    def _list_databases(self, request: RecordedRequest) -> Reply:
        if "format" not in request.query:
            return 400, {}, "serde error: missing field `format`"
        return 200, {}, [{"iox::database": name} for name in sorted({"_internal", *self.databases})]

    def _create_database(self, request: RecordedRequest) -> Reply:
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return 415, {}, "unacceptable content-type, expected: application/json"
        name = request.json().get("db", "")
        if name in self.databases:
            return 409, {}, "attempted to create a resource that already exists"
        self.databases.add(name)
        return 200, {}, None

    def _delete_database(self, request: RecordedRequest) -> Reply:
        name = request.query.get("db")
        if name is None:
            return 400, {}, "missing query parameters 'db'"
        if name not in self.databases:
            return 404, {}, "resource not found"
        self.databases.discard(name)
        self.points.pop(name, None)
        return 200, {}, None

    def _write_lp(self, request: RecordedRequest) -> Reply:
        db = request.query.get("db")
        if not db:
            return 400, {}, "missing query parameter 'db'"
        precision = request.query.get("precision", "auto")
        if precision not in self.PRECISIONS:
            return 400, {}, f"serde error: unknown variant `{precision}`"
        accept_partial = request.query.get("accept_partial", "true") == "true"
        good, invalid = [], []
        for number, line in enumerate(_split_body(request.body), start=1):
            try:
                measurement, _tags, fields, _ts = parse_line(line)
                problem = self._schema.conflict(db, measurement, fields)
            except ValueError as exc:
                problem = f"invalid line protocol: {exc}"
            if problem:
                invalid.append({"original_line": line, "line_number": number,
                                "error_message": problem})
            else:
                self._schema.learn(db, measurement, fields)
                good.append(line)
        if invalid and not accept_partial:
            return 400, {}, {"error": "parsing failed for write_lp endpoint", "data": invalid[0]}
        self.databases.add(db)  # writes create the database (schema on write)
        self.points.setdefault(db, []).extend(good)
        if invalid:
            return 400, {}, {"error": "partial write of line protocol occurred", "data": invalid}
        return 204, {}, None

    def _query(self, request: RecordedRequest) -> Reply:
        params = request.json() if request.method == "POST" else dict(request.query)
        db, q = params.get("db"), params.get("q")
        if q is None or (db is None and request.path.endswith("query_sql")):
            return 400, {}, "serde error: missing field `db` or `q`"
        if params.get("format", "json") != "json":
            return 400, {}, f"{self.label} answers format=json only"
        if db is not None and db not in self.databases:
            return 404, {}, {"error": f"query error: database not found: {db}", "data": None}
        answer = self.answers.get(q, [])
        if isinstance(answer, (bytes, str)):
            return 200, {"Content-Type": "application/json"}, answer
        return 200, {}, answer
