"""The client proper: one class, three API dialects, readable errors."""

from __future__ import annotations

import dataclasses
import gzip as gzip_module
import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..errors import (
    AuthError,
    DatabaseNotFound,
    QueryError,
    ServerUnavailable,
    WriteError,
    redact,
    register_secret,
)

APIS = ("v1", "v2", "v3")
DEFAULT_TIMEOUT_S = 10.0
QUERY_TIMEOUT_S = 120.0

# Line protocol precision names differ per API; callers always say ns/us/ms/s.
_PRECISION = {
    "v1": {"ns": "n", "us": "u", "ms": "ms", "s": "s"},
    "v2": {"ns": "ns", "us": "us", "ms": "ms", "s": "s"},
    "v3": {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"},
}
_DB_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclasses.dataclass(frozen=True)
class WriteTarget:
    """Everything needed to POST a line-protocol body, so a harness can send it itself."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]

    def __repr__(self) -> str:
        return redact(f"WriteTarget({self.url!r}, params={self.params!r})")


@dataclasses.dataclass
class WriteResponse:
    """What the server said to one write: status, points it refused, its message."""

    status: int
    rejected: int
    message: str


@dataclasses.dataclass
class QueryAnswer:
    """A parsed query answer: ``rows`` as dicts (tags and measurement folded in)."""

    rows: list[dict[str, Any]]
    nbytes: int
    raw: Any

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list[Any]:
        """All values of one column, in row order."""
        return [row.get(name) for row in self.rows]


def _version_to_api(version: str) -> str:
    """Map a server version string to the API family it speaks."""
    v = version.strip().lstrip("vV")
    if v.startswith("3"):
        return "v3"
    if v.startswith("2"):
        return "v2"
    return "v1"


def detect_api(url: str, *, token: str | None = None, timeout: float = 5.0) -> tuple[str, str]:
    """Ask a server what it is: returns ``(api, version)`` from its ``/ping`` answer.

    Raises :class:`ServerUnavailable` with a readable message when nothing answers.
    """
    register_secret(token)
    # "Token" is accepted by v2 and by v3 (which also takes "Bearer" and "Basic"); v1 ignores it.
    headers = {"Authorization": f"Token {token}"} if token else {}
    try:
        resp = requests.get(f"{url.rstrip('/')}/ping", headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise ServerUnavailable(f"no InfluxDB answers at {url}: {exc.__class__.__name__}") from None
    if resp.status_code in (401, 403):
        # InfluxDB 3 Core/Enterprise guard /ping with the token unless started with
        # --disable-authz ping: without a valid token it answers 401 and no version header.
        raise AuthError(f"{url} answered /ping with {resp.status_code}: pass a valid token "
                        "(--influx-token or INFLUX_TOKEN; for InfluxDB 3 an admin token)")
    version = resp.headers.get("X-Influxdb-Version", "")
    if not version and resp.headers.get("content-type", "").startswith("application/json"):
        try:
            version = str(resp.json().get("version", ""))
        except ValueError:
            version = ""
    if not version:
        raise ServerUnavailable(f"{url} answered /ping with {resp.status_code} but is not an InfluxDB "
                                "(no X-Influxdb-Version header)")
    return _version_to_api(version), version.lstrip("vV")


class InfluxClient:
    """A pooled HTTP client for one server.

    >>> client = InfluxClient("http://127.0.0.1:8086")          # doctest: +SKIP
    >>> client.create_database("demo")                          # doctest: +SKIP
    >>> client.write("m,host=a v=1 1700000000000000000", "demo")  # doctest: +SKIP
    >>> client.query('SELECT * FROM "m"', "demo").rows           # doctest: +SKIP
    """

    def __init__(self, url: str, *, api: str = "v1", token: str | None = None,
                 org: str | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 liveness: Callable[[], None] | None = None) -> None:
        if api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)}, not {api!r}")
        register_secret(token)
        self.url = url.rstrip("/")
        self.api = api
        self.org = org
        self.timeout = timeout
        self._token = token
        self._liveness = liveness
        self._org_id: str | None = None
        self._lock = threading.Lock()
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(self.auth_headers())

    def __repr__(self) -> str:
        return f"InfluxClient({self.url!r}, api={self.api!r})"

    def close(self) -> None:
        self.session.close()

    # -- requests --------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """The Authorization header for this API, or nothing without a token."""
        if not self._token:
            return {}
        if self.api == "v3":
            return {"Authorization": f"Bearer {self._token}"}
        if self.api == "v1" and ":" in self._token:
            import base64

            basic = base64.b64encode(self._token.encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        return {"Authorization": f"Token {self._token}"}

    def request(self, method: str, path: str, *, timeout: float | None = None,
                **kwargs: Any) -> requests.Response:
        """Send one request; connection failures become readable errors (or ServerExited)."""
        url = path if path.startswith(("http://", "https://")) else f"{self.url}{path}"
        try:
            resp = self.session.request(method, url,
                                        timeout=timeout or self.timeout, **kwargs)
        except requests.RequestException as exc:
            if self._liveness is not None:
                self._liveness()  # raises ServerExited with the log tail if the server died
            raise ServerUnavailable(f"{method} {url} failed: "
                                    f"{exc.__class__.__name__}: {exc}") from None
        if resp.status_code in (401, 403):
            raise AuthError(f"{url} answered {resp.status_code} to {method}: "
                            f"{_message(resp)}. Check --influx-token (or INFLUX_TOKEN) "
                            "and that the token may use this database")
        return resp

    # -- databases -------------------------------------------------------------------
    def create_database(self, name: str) -> None:
        """Create a database (v1, v3) or bucket (v2). Existing ones are fine."""
        _check_db_name(name)
        if self.api == "v1":
            self._influxql_command(f'CREATE DATABASE "{name}"')
        elif self.api == "v2":
            self._create_bucket(name)
        else:
            resp = self.request("POST", "/api/v3/configure/database", json={"db": name})
            if resp.status_code not in (200, 201, 204, 409):
                raise QueryError(f"creating database {name!r} failed: {resp.status_code} "
                                 f"{_message(resp)}")

    def drop_database(self, name: str) -> None:
        """Drop a database (bucket) and its data. A missing one is fine."""
        _check_db_name(name)
        if self.api == "v1":
            self._influxql_command(f'DROP DATABASE "{name}"')
        elif self.api == "v2":
            bucket_id = self._bucket_id(name)
            if bucket_id:
                self.request("DELETE", f"/api/v2/buckets/{bucket_id}")
        else:
            # A plain DELETE only soft-deletes (data kept for days); hard_delete_at=now frees
            # the disk at once. Servers older than 3.2 ignore the unknown parameter.
            resp = self.request("DELETE", "/api/v3/configure/database",
                                params={"db": name, "hard_delete_at": "now"})
            if resp.status_code not in (200, 204, 404):
                raise QueryError(f"dropping database {name!r} failed: {resp.status_code} "
                                 f"{_message(resp)}")

    def list_databases(self) -> list[str]:
        """Names of the databases (buckets) the server holds."""
        if self.api == "v1":
            return [str(row["name"]) for row in self.query("SHOW DATABASES").rows]
        if self.api == "v2":
            resp = self.request("GET", "/api/v2/buckets", params={"limit": "100"})
            return [b["name"] for b in resp.json().get("buckets", [])]
        resp = self.request("GET", "/api/v3/configure/database", params={"format": "json"})
        return [str(row.get("iox::database", row.get("database_name", ""))) for row in resp.json()]

    def _influxql_command(self, statement: str) -> None:
        resp = self.request("POST", "/query", params={"q": statement})
        _influxql_rows(resp, statement)

    def _org_id_for(self) -> str:
        with self._lock:
            if self._org_id is None:
                params = {"org": self.org} if self.org else {}
                orgs = self.request("GET", "/api/v2/orgs", params=params).json().get("orgs", [])
                if not orgs:
                    raise QueryError(f"organization {self.org!r} not found on {self.url}: "
                                     "pass --influx-org")
                self._org_id = orgs[0]["id"]
            return self._org_id

    def _create_bucket(self, name: str) -> None:
        org_id = self._org_id_for()
        resp = self.request("POST", "/api/v2/buckets",
                            json={"orgID": org_id, "name": name, "retentionRules": []})
        if resp.status_code not in (201, 422):  # 422: already exists
            raise QueryError(f"creating bucket {name!r} failed: {resp.status_code} {_message(resp)}")
        bucket_id = resp.json().get("id") if resp.status_code == 201 else self._bucket_id(name)
        # InfluxQL over /query needs a DBRP mapping; newer servers make a virtual one, older
        # ones need it explicitly. A conflict means it is already there.
        resp = self.request("POST", "/api/v2/dbrps",
                            json={"bucketID": bucket_id, "orgID": org_id, "database": name,
                                  "retention_policy": "autogen", "default": True})
        if resp.status_code not in (200, 201, 409, 422):
            raise QueryError(f"mapping bucket {name!r} for InfluxQL (POST /api/v2/dbrps) failed: "
                             f"{resp.status_code} {_message(resp)}")

    def _bucket_id(self, name: str) -> str | None:
        resp = self.request("GET", "/api/v2/buckets", params={"name": name})
        buckets = resp.json().get("buckets", []) if resp.status_code == 200 else []
        return buckets[0]["id"] if buckets else None

    # -- writes ----------------------------------------------------------------------
    def write_target(self, database: str, *, precision: str = "ns", gzip: bool = False) -> WriteTarget:
        """URL, query parameters and headers for a line-protocol POST to ``database``."""
        if precision not in _PRECISION[self.api]:
            raise ValueError(f"precision must be one of ns, us, ms, s, not {precision!r}")
        prec = _PRECISION[self.api][precision]
        headers = {"Content-Type": "text/plain; charset=utf-8", **self.auth_headers()}
        if gzip:
            headers["Content-Encoding"] = "gzip"
        if self.api == "v1":
            return WriteTarget(f"{self.url}/write", {"db": database, "precision": prec}, headers)
        if self.api == "v2":
            params = {"bucket": database, "precision": prec}
            if self.org:
                params["org"] = self.org
            else:
                # InfluxDB OSS 2.x requires org or orgID on every write; without a name, use
                # the ID of the organization the token sees (looked up once, then cached).
                params["orgID"] = self._org_id_for()
            return WriteTarget(f"{self.url}/api/v2/write", params, headers)
        return WriteTarget(f"{self.url}/api/v3/write_lp", {"db": database, "precision": prec}, headers)

    def write(self, lines: bytes | str | Iterable[str], database: str, *, precision: str = "ns",
              gzip: bool = False, timeout: float | None = None) -> WriteResponse:
        """Write one body of line protocol; raise for whole-write failures.

        A partial write (some lines refused) does not raise: the answer counts the refused
        lines in ``rejected`` so that nothing is lost silently.
        """
        body = _as_body(lines)
        n_lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
        if gzip:
            body = gzip_module.compress(body)
        target = self.write_target(database, precision=precision, gzip=gzip)
        # The target's headers carry Content-Encoding: without it a gzip body is refused.
        resp = self.request("POST", target.url, params=target.params, data=body,
                            headers=target.headers, timeout=timeout)
        return interpret_write(self.api, resp.status_code, resp.text, n_lines, database)

    # -- queries ---------------------------------------------------------------------
    def query(self, q: str, database: str | None = None, *, language: str = "influxql",
              timeout: float | None = None) -> QueryAnswer:
        """Run a query and return parsed rows; an error inside a 200 answer raises."""
        resp = self.query_response(q, database, language=language, timeout=timeout)
        return self.parse_query_response(resp, q, database, language=language)

    def query_response(self, q: str, database: str | None = None, *, language: str = "influxql",
                       timeout: float | None = None) -> requests.Response:
        """Send a query and return the HTTP answer, body read, not yet parsed.

        Timed harnesses call this and :meth:`parse_query_response` apart, so that the time
        the server takes is not mixed with the time Python takes to parse JSON.
        """
        timeout = timeout or QUERY_TIMEOUT_S
        if language == "sql":
            if self.api != "v3":
                raise QueryError(f"SQL queries need an InfluxDB 3 server; this one speaks {self.api}")
            return self._v3_query_response("/api/v3/query_sql", q, database, timeout)
        if language != "influxql":
            raise ValueError(f"language must be 'influxql' or 'sql', not {language!r}")
        if self.api == "v3":
            return self._v3_query_response("/api/v3/query_influxql", q, database, timeout)
        params = {"q": q, "epoch": "ns"}
        if database:
            params["db"] = database
        # v1 only allows reads over GET; everything else (CREATE, DROP, ...) must be POSTed.
        method = "GET" if q.lstrip().upper().startswith(("SELECT", "SHOW")) else "POST"
        return self.request(method, "/query", params=params, timeout=timeout)

    def parse_query_response(self, resp: requests.Response, q: str, database: str | None = None,
                             *, language: str = "influxql") -> QueryAnswer:
        """Parse an answer of :meth:`query_response`; an error inside a 200 answer raises."""
        if self.api != "v3":
            return QueryAnswer(_influxql_rows(resp, q), len(resp.content), resp.json())
        if resp.status_code == 404 and "database" in resp.text.lower():
            raise DatabaseNotFound(f"database {database!r} not found on {self.url}")
        if resp.status_code != 200:
            raise QueryError(f"query failed ({resp.status_code}): {_message(resp)}\n  query: {q}")
        try:
            rows = resp.json()
        except ValueError:
            # format=json is streamed after the 200 status: an error while streaming cuts
            # the array short, so a body that does not parse is a failed query.
            raise QueryError(f"query answer was cut short or is not JSON: {resp.text[-300:]!r}"
                             f"\n  query: {q}") from None
        if isinstance(rows, dict) and "error" in rows:
            raise QueryError(f"query failed: {rows['error']}\n  query: {q}")
        if isinstance(rows, dict) and "results" in rows:  # an InfluxQL-shaped answer
            return QueryAnswer(_influxql_rows(resp, q), len(resp.content), rows)
        if not isinstance(rows, list):
            raise QueryError(f"unexpected query answer (not a JSON array): {resp.text[:300]!r}"
                             f"\n  query: {q}")
        return QueryAnswer(rows, len(resp.content), rows)

    def _v3_query_response(self, path: str, q: str, database: str | None,
                           timeout: float) -> requests.Response:
        body = {"q": q, "format": "json"}
        if database:  # query_sql needs it; query_influxql may take it from the query itself
            body["db"] = database
        return self.request("POST", path, json=body, timeout=timeout)


# -- answers -------------------------------------------------------------------------
_V1_PARSE_PREFIXES = ("unable to parse '", "partial write: unable to parse '")
_DROPPED = re.compile(r"dropped=(\d+)\s*$")
_V2_DROPPED = re.compile(r"\bdropped=(\d+)\b")


def interpret_write(api: str, status: int, text: str, n_lines: int, database: str) -> WriteResponse:
    """Turn a write answer into accepted/rejected counts, or raise for a whole failure.

    - v1 answers 400 with one "unable to parse '...'" line per bad line (the good ones are
      written), and "partial write: ... dropped=N" when the engine dropped points.
    - v2 refuses the whole body on a parse error (400) and answers 422 "partial write ...
      dropped=N" when the engine dropped points; v3 answers 400 with the invalid lines in
      ``data`` and writes the rest.

    Counting reads the server's whole message: the ``message`` kept for display is cut to
    2000 characters, which would undercount a batch with many bad lines.
    """
    if status in (200, 204):
        return WriteResponse(status, 0, "")
    full = _message_text(text, limit=None)
    message = full[:2000]
    lowered = message.lower()
    if api == "v2" and status == 404 and "organization" in lowered:  # a wrong org, not a bucket
        raise WriteError(f"organization not found ({status}): pass --influx-org with an existing "
                         f"organization. Server said: {message}", status=status)
    if status == 404 or "database not found" in lowered or ("bucket" in lowered
                                                            and "not found" in lowered):
        raise DatabaseNotFound(f"database {database!r} does not exist: create it first "
                               f"(server said: {message})")
    if status == 413:
        raise WriteError(f"request body too large (413): lower the batch size. Server said: {message}",
                         status=status)
    if status in (400, 422):
        rejected = _count_rejected(api, status, text, full, n_lines)
        if rejected is not None:
            return WriteResponse(status, rejected, message)
    raise WriteError(f"write failed with {status}: {message}", status=status)


def _count_rejected(api: str, status: int, text: str, message: str, n_lines: int) -> int | None:
    """Points the server refused in a partial write, or ``None`` if it refused the body."""
    if api == "v3":
        try:
            data = json.loads(text).get("data")
        except (ValueError, AttributeError):
            data = None
        return min(len(data), n_lines) if isinstance(data, list) else n_lines
    dropped_match = _DROPPED.search(message)
    dropped = int(dropped_match.group(1)) if dropped_match else 0
    if api == "v2":
        # v2 parses the whole body first: a parse error (400) refuses all of it. Its 422
        # message goes on after the count ("dropped=N for database: ID for retention
        # policy: RP"), so the end-anchored v1 pattern misses it; the last count wins
        # because echoed series keys come before it.
        counts = _V2_DROPPED.findall(message)
        return min(int(counts[-1]), n_lines) if status == 422 and counts else n_lines
    # v1: one message line per unparseable line; a quote inside a bad line cannot start a
    # new message line, so counting line starts is exact where substring counts are not.
    parse_errors = sum(1 for line in message.split("\n") if line.startswith(_V1_PARSE_PREFIXES))
    if dropped_match or parse_errors:
        return min(parse_errors + dropped, n_lines)
    return None


def _influxql_rows(resp: requests.Response, q: str) -> list[dict[str, Any]]:
    """Flatten an InfluxQL JSON answer into rows, raising for any error inside it."""
    try:
        body = resp.json()
    except ValueError:
        raise QueryError(f"query failed ({resp.status_code}): {resp.text[:300]}\n  query: {q}") from None
    if "error" in body:
        _raise_query_error(body["error"], q)
    if resp.status_code >= 400 and isinstance(body, dict) and "message" in body:
        _raise_query_error(str(body["message"]), q)  # v2 answers errors as {"code", "message"}
    rows: list[dict[str, Any]] = []
    for result in body.get("results", []):
        if "error" in result:
            _raise_query_error(result["error"], q)
        for series in result.get("series", []):
            base = {"_measurement": series.get("name"), **series.get("tags", {})}
            columns = series.get("columns", [])
            rows.extend({**base, **dict(zip(columns, values))} for values in series.get("values", []))
    if resp.status_code >= 400:
        raise QueryError(f"query failed ({resp.status_code}): {resp.text[:300]}\n  query: {q}")
    return rows


def _raise_query_error(message: str, q: str) -> None:
    if "database not found" in message:
        raise DatabaseNotFound(f"{message}\n  query: {q}")
    raise QueryError(f"{message}\n  query: {q}")


def _message(resp: requests.Response) -> str:
    return _message_text(resp.text)


def _message_text(text: str, limit: int | None = 2000) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:limit]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:limit]
    return str(body)[:limit]


def _as_body(lines: bytes | str | Iterable[str] | Iterable[bytes]) -> bytes:
    if isinstance(lines, bytes):
        return lines
    if isinstance(lines, str):
        return lines.encode()
    return b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines)


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"database name {name!r}: use letters, digits, '_' and '-' only")
