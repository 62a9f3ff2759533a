"""The timed writer: sends line protocol in batches and measures the server, not itself.

What is inside the measured window: the HTTP requests, retries and their waits, and the
bookkeeping of answers. What is outside: generating the data, cutting it into batches,
gzip, opening sessions, starting worker processes, reading back, asking for cardinality.

>>> writer = Writer(server, default_database="demo")           # doctest: +SKIP
>>> result = writer.write(series, batch_size=5000, workers=4)   # doctest: +SKIP
>>> result.points_per_second, result.latency_ms.p99             # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import gzip as gzip_module
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
from requests.adapters import HTTPAdapter

from ..errors import AuthError, DatabaseNotFound, InfluxPerfError, WriteError
from ..series.lineprotocol import count_points, parse_line, split_points
from .accounting import (
    CLIENT_ERROR,
    REFUSED,
    SERVER_ERROR,
    TOO_LARGE,
    TRANSPORT,
    Ledger,
    WriteErrorRecord,
    summarize_errors,
)
from .latency import Latency
from .retry import RetryPolicy
from .sampler import ResourceSampler

PRECISIONS = ("ns", "us", "ms", "s")
BREAKER_BATCHES = 3          # transport failures in a row (all retries spent) that end a run
START_TIMEOUT_S = 120.0      # worker processes must be ready within this


@dataclasses.dataclass(frozen=True)
class Batch:
    """One request body, prepared before the clock starts."""

    body: bytes          # what goes on the wire (gzipped if asked)
    points: int          # lines in it (blank lines do not count: the server skips them)
    raw_bytes: int       # size before gzip


@dataclasses.dataclass
class WriteResult:
    """What one ``Writer.write`` did. See :mod:`.accounting` for how points are counted::

        points_sent = points_accepted + points_rejected          (always)
        points_rejected = points_refused + points_failed
        points_total = points_sent + points_unsent
    """

    points_total: int
    points_sent: int
    points_accepted: int
    points_rejected: int
    points_refused: int
    points_failed: int
    points_unsent: int
    rejected_by_reason: dict[str, int]
    bytes_sent: int
    bytes_on_wire: int
    elapsed_s: float
    points_per_second: float
    requests: int
    batches: int
    retries: int
    connections_opened: int
    client_cpu_s: float           # CPU the sending threads used: the harness's own cost
    latency_ms: Latency
    intended_latency_ms: Latency | None
    errors: list[WriteErrorRecord]
    retried: list[WriteErrorRecord]
    aborted: str | None
    server_resources: dict[str, Any]
    resource_samples: list[dict[str, Any]]
    verified_count: int | None
    database: str
    batch_size: int
    workers: int
    processes: bool
    pooled: bool
    gzip: bool
    gzip_level: int | None
    target_rate: float | None
    max_duration: float | None
    prepare_s: float
    #: What ``verify=True`` expects to read back: the accepted points less those that
    #: repeat the series and timestamp of an earlier point (see :func:`point_keys`).
    expected_count: int | None = None

    @property
    def error_count(self) -> int:
        """Requests that ended in an error (retried attempts not included)."""
        return sum(e.count for e in self.errors)

    @property
    def verified(self) -> bool | None:
        """Whether the read-back count equals ``expected_count`` (``None``: not checked).

        InfluxDB keeps one point per series and timestamp, so duplicates in the data are
        expected to be stored once. Fewer stored than expected means points the server
        dropped silently, or the one case counting cannot see: a v1 batch with both
        unparseable lines and engine drops, where influxd names only the drops
        (``dropped=N``) and the unparseable lines go uncounted.
        """
        if self.verified_count is None:
            return None
        expected = self.points_accepted if self.expected_count is None else self.expected_count
        return self.verified_count == expected

    @property
    def compression_ratio(self) -> float | None:
        return self.bytes_sent / self.bytes_on_wire if self.bytes_on_wire else None

    def summary(self) -> str:
        """One readable paragraph, e.g. for a failing assertion."""
        lines = [f"{self.points_accepted}/{self.points_sent} points accepted "
                 f"({self.points_refused} refused, {self.points_failed} failed, "
                 f"{self.points_unsent} unsent) in {self.elapsed_s:.3f}s = "
                 f"{self.points_per_second:,.0f} points/s; {self.requests} requests, "
                 f"{self.retries} retries; latency {self.latency_ms}"]
        if self.aborted:
            lines.append(f"aborted: {self.aborted}")
        if self.verified is False:
            expected = (self.points_accepted if self.expected_count is None
                        else self.expected_count)
            lines.append(f"read back {self.verified_count} points, not {expected} (the "
                         "distinct series and timestamps among the accepted points)")
        lines.extend(f"  {e}" for e in self.errors)
        return "\n".join(lines)


class _Aborted(Exception):
    """Internal: a fatal answer (missing database, bad token) stops every worker."""

    def __init__(self, error: InfluxPerfError) -> None:
        super().__init__(str(error))
        self.error = error


# -- preparing the batches (outside the clock) ---------------------------------------
def prepare_batches(data: Any, batch_size: int, *, gzip: bool = False,
                    gzip_level: int = 6) -> list[Batch]:
    """Cut a Series (anything with ``batches(size)``) or lines into request bodies."""
    if isinstance(data, (str, bytes)):
        data = split_points(data.encode() if isinstance(data, str) else data)
    if callable(getattr(data, "batches", None)):
        bodies: Iterable[bytes] = data.batches(batch_size)
    elif isinstance(data, Iterable):
        bodies = _chunk_lines(data, batch_size)
    else:
        raise TypeError(f"write() takes a Series or an iterable of line-protocol lines, not "
                        f"{type(data).__name__}")
    out = []
    for body in bodies:
        points = count_points(body)
        if points == 0:
            continue
        wire = gzip_module.compress(body, compresslevel=gzip_level) if gzip else body
        out.append(Batch(wire, points, len(body)))
    return out


def _chunk_lines(lines: Iterable[str | bytes], batch_size: int) -> Iterator[bytes]:
    it = iter(lines)
    while True:
        chunk = list(itertools.islice(it, batch_size))
        if not chunk:
            return
        yield b"\n".join(_as_bytes(line).rstrip(b"\n") for line in chunk) + b"\n"


def _as_bytes(line: str | bytes) -> bytes:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode()
    raise TypeError(f"a line of line protocol must be str or bytes, not {type(line).__name__}")


# -- one sender per worker -----------------------------------------------------------
def _counting_adapter(pool_size: int, ledger: Ledger) -> HTTPAdapter:
    """An HTTPAdapter whose connections count how often they really connect."""

    def counting(conn_cls: type) -> type:
        class Counting(conn_cls):  # type: ignore[valid-type,misc]
            def connect(self) -> None:
                super().connect()
                ledger.connections_opened += 1

        return Counting

    class CountingPool(urllib3.HTTPConnectionPool):
        ConnectionCls = counting(urllib3.connection.HTTPConnection)

    class CountingHTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = counting(urllib3.connection.HTTPSConnection)

    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {"http": CountingPool,
                                                  "https": CountingHTTPSPool}
    return adapter


class _Pacer:
    """Schedules request starts so that points/s approaches a target (open loop)."""

    def __init__(self, rate: float, t0: float) -> None:
        self.rate = rate
        self.t0 = t0
        self.scheduled = 0
        self._lock = threading.Lock()

    def slot(self, points: int) -> float:
        with self._lock:
            at = self.t0 + self.scheduled / self.rate
            self.scheduled += points
            return at


@dataclasses.dataclass
class _Plan:
    """What every sender shares (picklable: worker processes get a copy)."""

    url: str
    headers: dict[str, str]
    api: str
    database: str
    pooled: bool
    pool_size: int
    timeout: float
    policy: RetryPolicy
    max_duration: float | None
    target_rate: float | None
    server_pid: int | None = None


class _Sender:
    """Sends batches picked from a shared queue; keeps its own ledger (no locks)."""

    def __init__(self, plan: _Plan, next_index: Callable[[], int], batches: list[Batch],
                 stop: threading.Event | Any, alive: Callable[[], bool] | None,
                 pacer: _Pacer | None, shared: _Shared) -> None:
        self.plan = plan
        self.next_index = next_index
        self.batches = batches
        self.stop = stop
        self.alive = alive
        self.pacer = pacer
        self.shared = shared
        self.ledger = Ledger()
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment: traffic stays local
        adapter = _counting_adapter(plan.pool_size, self.ledger)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.headers = dict(plan.headers)
        if not plan.pooled:
            # The server closes after answering, so every request opens a new TCP connection
            # (counted in ledger.connections_opened, checked by the tests).
            self.headers["Connection"] = "close"
        # Prepared once: per request only the body changes (url, headers and cookies are
        # merged here, not in the measured window).
        self.template = self.session.prepare_request(
            requests.Request("POST", plan.url, headers=self.headers, data=b"-"))

    def run(self, t0: float, deadline: float | None) -> Ledger:
        """Send until the batches run out, the deadline passes or the run is stopped."""
        cpu0 = time.thread_time()
        try:
            self._loop(t0, deadline)
        finally:
            self.ledger.client_cpu_s += time.thread_time() - cpu0
            self.session.close()
        return self.ledger

    def _loop(self, t0: float, deadline: float | None) -> None:
        n = len(self.batches)
        while not self.stop.is_set():
            i = self.next_index()
            if i >= n:
                return
            batch = self.batches[i]
            intended = self.pacer.slot(batch.points) if self.pacer else None
            if intended is not None:
                if deadline is not None and intended >= deadline:
                    return
                wait = intended - time.monotonic()
                if wait > 0 and self.stop.wait(wait):
                    return
            if deadline is not None and time.monotonic() >= deadline:
                return
            self._send(batch, intended, deadline)

    def _send(self, batch: Batch, intended: float | None, deadline: float | None) -> None:
        ledger, plan = self.ledger, self.plan
        ledger.sent(batch.points, batch.raw_bytes, len(batch.body))
        attempt = 0
        while True:
            started = time.monotonic()
            if ledger.first_start is None:
                ledger.first_start = started
            status, text, retry_after = self._post(batch.body)
            ended = time.monotonic()
            ledger.last_end = ended
            ledger.requests += 1
            ledger.latencies_ms.append((ended - started) * 1000.0)
            if status in (200, 204):
                if intended is not None:
                    ledger.intended_latencies_ms.append((ended - intended) * 1000.0)
                ledger.accepted(batch.points)
                self.shared.transport_failures = 0
                return
            if status is not None and not plan.policy.should_retry(status):
                self._answer(batch, status, text)
                self.shared.transport_failures = 0
                return
            kind = TRANSPORT if status is None else SERVER_ERROR
            # A timeout means a slow server, not a dead one: only a refused or reset
            # connection is worth asking whether the server still runs.
            dead_suspect = status is None and not text.startswith(("ReadTimeout", "Timeout"))
            if dead_suspect and self.alive is not None and not self.alive():
                ledger.lost(kind, None, batch.points, f"server is not running: {text}")
                self.shared.abort("the server stopped running during the write")
                return
            out_of_time = deadline is not None and time.monotonic() >= deadline
            if attempt >= plan.policy.retries or out_of_time or self.stop.is_set():
                ledger.lost(kind, status, batch.points, text)
                if status is None:
                    self.shared.transport_failed()
                return
            delay = plan.policy.delay(attempt, retry_after)
            if deadline is not None and time.monotonic() + delay >= deadline:
                # Retrying sooner than the server asked would not honor Retry-After.
                ledger.lost(kind, status, batch.points, f"max_duration ends before the retry "
                                                        f"could be sent: {text}")
                return
            ledger.retry(kind, status, text)
            if delay > 0 and self.stop.wait(delay):
                ledger.lost(kind, status, batch.points, f"run stopped while waiting to retry: {text}")
                return
            attempt += 1

    def _post(self, body: bytes) -> tuple[int | None, str, str | None]:
        """One attempt: (status or None for no answer, message, Retry-After)."""
        prepared = self.template.copy()
        prepared.body = body
        prepared.headers["Content-Length"] = str(len(body))
        try:
            resp = self.session.send(prepared, timeout=self.plan.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return None, f"{exc.__class__.__name__}: {_short(exc)}", None
        if resp.status_code in (200, 204):
            return resp.status_code, "", None
        return resp.status_code, resp.text, resp.headers.get("Retry-After")

    def _answer(self, batch: Batch, status: int, text: str) -> None:
        """Book a non-retryable answer: a partial write, a refusal, or a fatal error."""
        from ..client.client import interpret_write

        try:
            answer = interpret_write(self.plan.api, status, text, batch.points, self.plan.database)
        except (DatabaseNotFound, AuthError) as exc:
            self.ledger.lost(CLIENT_ERROR, status, batch.points, str(exc))
            self.shared.fatal(exc)
            return
        except WriteError as exc:
            kind = TOO_LARGE if status == 413 else CLIENT_ERROR
            message = str(exc)
            if status == 413:
                message += (f" (this batch: {batch.points} points, {len(batch.body)} bytes on "
                            "the wire; lower batch_size or raise the server's max-body-size)")
            self.ledger.lost(kind, status, batch.points, message)
            return
        self.ledger.accepted(batch.points - answer.rejected)
        if answer.rejected:
            self.ledger.lost(REFUSED, status, answer.rejected, answer.message)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."


class _Shared:
    """State every thread of one process sees: stop flag, abort reason, the breaker."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.reason: str | None = None
        self.error: InfluxPerfError | None = None
        self.transport_failures = 0
        self._lock = threading.Lock()

    def abort(self, reason: str) -> None:
        with self._lock:
            if self.reason is None:
                self.reason = reason
        self.stop.set()

    def fatal(self, error: InfluxPerfError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
        self.abort(str(error).splitlines()[0])

    def transport_failed(self) -> None:
        with self._lock:
            self.transport_failures += 1
            tripped = self.transport_failures >= BREAKER_BATCHES
        if tripped:
            self.abort(f"{BREAKER_BATCHES} batches in a row failed without an answer "
                       "after all retries: the server is unreachable")


def _run_threads(plan: _Plan, batches: list[Batch], workers: int,
                 alive: Callable[[], bool] | None) -> tuple[Ledger, float, float, _Shared]:
    """Send with ``workers`` threads; return the merged ledger and the window."""
    shared = _Shared()
    counter = itertools.count()
    next_index = counter.__next__  # atomic under the GIL: each batch goes to one worker
    senders = [_Sender(plan, next_index, batches, shared.stop, alive, None, shared)
               for _ in range(workers)]
    t0 = time.monotonic()
    pacer = _Pacer(plan.target_rate, t0) if plan.target_rate else None
    deadline = t0 + plan.max_duration if plan.max_duration else None
    for sender in senders:
        sender.pacer = pacer
    if workers == 1:
        senders[0].run(t0, deadline)
    else:
        threads = [threading.Thread(target=s.run, args=(t0, deadline), daemon=True,
                                    name=f"influxperf-writer-{k}") for k, s in enumerate(senders)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    t1 = time.monotonic()
    ledger = Ledger()
    for sender in senders:
        ledger.merge(sender.ledger)
    return ledger, t0, t1, shared


# -- worker processes ----------------------------------------------------------------
def _process_main(plan: _Plan, batches: list[Batch], ready: Any, start: Any, results: Any) -> None:
    """Entry point of one worker process: send its share of the batches, report the ledger."""
    alive = None
    if plan.server_pid is not None:
        import psutil

        pid = plan.server_pid

        def alive() -> bool:
            # A killed server stays a zombie until its parent reaps it: that is dead too.
            try:
                return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                return False

    shared = _Shared()
    counter = itertools.count()
    sender = _Sender(plan, counter.__next__, batches, shared.stop, alive, None, shared)
    ready.put(True)
    if not start.wait(START_TIMEOUT_S):
        results.put((Ledger(), "never told to start", None))
        return
    t0 = time.monotonic()
    sender.pacer = _Pacer(plan.target_rate, t0) if plan.target_rate else None
    deadline = t0 + plan.max_duration if plan.max_duration else None
    ledger = sender.run(t0, deadline)
    error = (type(shared.error).__name__, str(shared.error)) if shared.error else None
    results.put((ledger, shared.reason, error))


def _run_processes(plan: _Plan, batches: list[Batch], workers: int,
                   ) -> tuple[Ledger, float, float, _Shared]:
    """Send with ``workers`` processes, each owning every ``workers``-th batch."""
    import multiprocessing
    import queue

    ctx = multiprocessing.get_context("spawn")  # fork is unsafe with threads (samplers) around
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    if plan.target_rate:
        plan = dataclasses.replace(plan, target_rate=plan.target_rate / workers)
    procs = [ctx.Process(target=_process_main, args=(plan, batches[k::workers], ready, start,
                                                     results), daemon=True)
             for k in range(workers)]
    shared = _Shared()
    ledger = Ledger()
    started: list[Any] = []
    try:
        for proc in procs:
            proc.start()
            started.append(proc)
        _wait_ready(ready, started)
        t0 = time.monotonic()
        start.set()
        bound = _process_bound(plan, batches, workers)
        for _ in procs:
            try:
                part, reason, error = results.get(timeout=bound)
            except queue.Empty:
                shared.abort(f"a worker process did not report within {bound:.0f}s")
                break
            ledger.merge(part)
            if reason:
                shared.abort(reason)
            if error and shared.error is None:
                kind, text = error
                cls = {"DatabaseNotFound": DatabaseNotFound, "AuthError": AuthError}.get(kind)
                shared.error = cls(text) if cls else WriteError(text)
        t1 = time.monotonic()
    finally:
        for proc in started:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    # Children measure their own window on the same monotonic clock (system-wide on Linux).
    start_t = ledger.first_start if ledger.first_start is not None else t0
    end_t = ledger.last_end if ledger.last_end is not None else t1
    return ledger, min(t0, start_t), end_t, shared


def _wait_ready(ready: Any, procs: list[Any]) -> None:
    """Wait until every worker process is ready; a dead one is a clear error at once."""
    import queue

    deadline = time.monotonic() + START_TIMEOUT_S
    waiting = len(procs)
    while waiting:
        try:
            ready.get(timeout=0.2)
            waiting -= 1
            continue
        except queue.Empty:
            pass
        dead = [p for p in procs if p.exitcode is not None]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(
                "a writer worker process exited before it was ready (exit code "
                f"{dead[0].exitcode if dead else 'none: timed out'}). Worker processes are "
                "spawned: a script that calls write(..., processes=True) must do it under "
                "`if __name__ == \"__main__\":`")


def _process_bound(plan: _Plan, batches: list[Batch], workers: int) -> float:
    """How long a worker process may take before it is given up (generous, but finite)."""
    per_batch = plan.timeout * (plan.policy.retries + 1) + plan.policy.retry_after_cap_s
    if plan.max_duration:
        return plan.max_duration + per_batch + 30
    return per_batch * (len(batches) // workers + 1) + 30


# -- the public class ----------------------------------------------------------------
class Writer:
    """Timed, accounted writes to one server. Thread-safe to construct, not to share.

    ``default_database`` is used when ``write(..., database=None)``.
    """

    def __init__(self, server: Any, *, default_database: str | None = None) -> None:
        self.server = server
        self.default_database = default_database

    def close(self) -> None:
        """Nothing stays open between writes; kept for the fixture's symmetry."""

    def write(self, series_or_lines: Any, *, database: str | None = None, batch_size: int = 5000,
              workers: int = 1, processes: bool = False, pooled: bool = True,
              gzip: bool = False, gzip_level: int = 6, precision: str | None = None, retries: int = 3,
              timeout: float = 10.0, target_rate: float | None = None,
              max_duration: float | None = None, verify: bool = False,
              sample_resources: bool = True, retry_policy: RetryPolicy | None = None,
              ) -> WriteResult:
        """Write a Series (or lines) in batches and return what happened, fully counted.

        - ``workers`` threads (or processes with ``processes=True``, for loads one Python
          process cannot drive) each take the next batch from a shared queue.
        - ``pooled=False`` opens a new TCP connection for every request.
        - ``target_rate`` (points/s) paces request starts for latency-under-load runs;
          ``intended_latency_ms`` then counts from the scheduled start (no coordinated
          omission). ``max_duration`` (s) stops sending; what was not sent is ``unsent``.
        - ``verify=True`` reads back the point count and sets ``verified_count``; it
          should equal ``expected_count``, the distinct series and timestamps accepted.
        - ``precision`` defaults to the Series' own (``series.precision``), else ``ns``.

        A missing database or a refused token raises (after every worker stopped) with
        the partial result on ``exc.result``; everything else is counted in the result.
        """
        database = database or self.default_database
        precision = _precision(series_or_lines, precision)
        _validate(database, batch_size, workers, gzip_level, precision, retries, timeout,
                  target_rate, max_duration)
        began = time.monotonic()
        batches = prepare_batches(series_or_lines, batch_size, gzip=gzip, gzip_level=gzip_level)
        if not batches:
            raise ValueError("nothing to write: the series or lines hold no points")
        plan = self._plan(database, precision, gzip, pooled, workers, timeout,
                          retry_policy or RetryPolicy(retries=retries), target_rate, max_duration)
        keys = point_keys(_raw_bodies(batches, gzip)) if verify else None
        by_row = keys is not None and not keys.uniform_fields
        before = _count_stored(self.server, database, by_row=by_row) if verify else None
        prepare_s = time.monotonic() - began
        sampler = ResourceSampler(self.server, database) if sample_resources else None
        if sampler:
            sampler.start()
        try:
            if processes:
                ledger, t0, t1, shared = _run_processes(plan, batches, workers)
            else:
                ledger, t0, t1, shared = _run_threads(plan, batches, workers, self._alive())
        finally:
            if sampler:
                sampler.stop()
        ledger.check()
        verified = None
        alive = self._alive()
        if verify and before is not None and (alive is None or alive()):
            after = _count_stored(self.server, database, by_row=by_row)
            verified = after - before if after is not None else None
        result = _result(ledger, batches, t0, t1, shared, plan, sampler, verified,
                         batch_size=batch_size, workers=workers, processes=processes,
                         gzip=gzip, gzip_level=gzip_level if gzip else None, prepare_s=prepare_s)
        if keys is not None:
            result.expected_count = max(0, result.points_accepted - keys.duplicates)
        if shared.error is not None:
            shared.error.result = result  # type: ignore[attr-defined]
            raise shared.error
        return result

    # -- helpers ---------------------------------------------------------------------
    def _plan(self, database: str, precision: str, gzip: bool, pooled: bool, workers: int,
              timeout: float, policy: RetryPolicy, target_rate: float | None,
              max_duration: float | None) -> _Plan:
        target = self.server.client().write_target(database, precision=precision, gzip=gzip)
        # Query string encoded once, not per request.
        url = f"{target.url}?{urlencode(target.params)}"
        proc = getattr(self.server, "proc", None)
        return _Plan(url=url, headers=dict(target.headers), api=self.server.api,
                     database=database, pooled=pooled, pool_size=max(1, workers),
                     timeout=timeout, policy=policy, max_duration=max_duration,
                     target_rate=target_rate, server_pid=getattr(proc, "pid", None))

    def _alive(self) -> Callable[[], bool] | None:
        probe = getattr(self.server, "is_running", None)
        return probe if callable(probe) else None


def _precision(data: Any, precision: str | None) -> str:
    """The precision to write with: the caller's, else the Series' own, else ns."""
    own = getattr(data, "precision", None)
    if own is not None and precision is not None and own != precision:
        raise ValueError(f"precision={precision!r} but the series was generated with "
                         f"precision {own!r}: drop the argument or regenerate the series")
    return str(precision or own or "ns")


def _validate(database: str | None, batch_size: int, workers: int, gzip_level: int,
              precision: str, retries: int, timeout: float, target_rate: float | None,
              max_duration: float | None) -> None:
    if not database:
        raise ValueError("no database: pass database= or build the Writer with default_database")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
    if not isinstance(workers, int) or not 1 <= workers <= 256:
        raise ValueError(f"workers must be an integer from 1 to 256, not {workers!r}")
    if not 0 <= gzip_level <= 9:
        raise ValueError(f"gzip_level must be 0..9, not {gzip_level!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, not {retries!r}")
    if not timeout or timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds (every request needs one), not {timeout!r}")
    if target_rate is not None and target_rate <= 0:
        raise ValueError(f"target_rate must be > 0 points/s, not {target_rate!r}")
    if max_duration is not None and max_duration <= 0:
        raise ValueError(f"max_duration must be > 0 seconds, not {max_duration!r}")


def _result(ledger: Ledger, batches: list[Batch], t0: float, t1: float, shared: _Shared,
            plan: _Plan, sampler: ResourceSampler | None, verified: int | None,
            **settings: Any) -> WriteResult:
    total = sum(b.points for b in batches)
    # The window runs from the first request to the last answer; waiting for threads to
    # start or to be joined is the harness's time, not the server's.
    start = ledger.first_start if ledger.first_start is not None else t0
    end = ledger.last_end if ledger.last_end is not None else t1
    elapsed = max(end - start, 1e-9)
    return WriteResult(
        points_total=total, points_sent=ledger.points_sent,
        points_accepted=ledger.points_accepted, points_rejected=ledger.points_rejected,
        points_refused=ledger.points_refused, points_failed=ledger.points_failed,
        points_unsent=total - ledger.points_sent, rejected_by_reason=ledger.rejected_by_reason(),
        bytes_sent=ledger.bytes_sent, bytes_on_wire=ledger.bytes_on_wire, elapsed_s=elapsed,
        points_per_second=ledger.points_accepted / elapsed if ledger.requests else 0.0,
        requests=ledger.requests, batches=ledger.batches_sent, retries=ledger.retries,
        connections_opened=ledger.connections_opened, client_cpu_s=ledger.client_cpu_s,
        latency_ms=Latency.from_samples(ledger.latencies_ms),
        intended_latency_ms=(Latency.from_samples(ledger.intended_latencies_ms)
                             if plan.target_rate else None),
        errors=summarize_errors(ledger.errors), retried=summarize_errors(ledger.retried),
        aborted=shared.reason,
        server_resources=sampler.summary() if sampler else {},
        resource_samples=list(sampler.samples) if sampler else [],
        verified_count=verified, database=plan.database, pooled=plan.pooled,
        target_rate=plan.target_rate, max_duration=plan.max_duration, **settings)


@dataclasses.dataclass(frozen=True)
class PointKeys:
    """What the data says about the points InfluxDB will keep (see :func:`point_keys`)."""

    #: Points that repeat the series key and timestamp of an earlier point: InfluxDB
    #: merges them into that point, so they add nothing to the stored count.
    duplicates: int
    #: Whether all points of each series carry the same field keys; only then does the
    #: largest per-field count of a series equal its number of points.
    uniform_fields: bool


def point_keys(bodies: Iterable[bytes]) -> PointKeys:
    """Count repeated (series key, timestamp) pairs in line-protocol ``bodies``.

    The series key is the measurement with its tags in sorted order (as InfluxDB keys a
    series). A point without a timestamp gets the server's clock, the same one for every
    point of its request, so it is keyed by its body. Lines that do not parse are refused
    by the server and never stored: they are skipped.
    """
    seen: set[tuple[object, ...]] = set()
    fields_of: dict[tuple[object, ...], frozenset[str]] = {}
    duplicates, uniform = 0, True
    for number, body in enumerate(bodies):
        for raw in split_points(body):
            try:
                measurement, tags, fields, ts = parse_line(raw.decode().strip())
            except ValueError:  # also UnicodeDecodeError
                continue
            series = (measurement, tuple(sorted(tags.items())))
            if fields_of.setdefault(series, frozenset(fields)) != frozenset(fields):
                uniform = False
            key = (series, ts if ts is not None else ("request", number))
            if key in seen:
                duplicates += 1
            else:
                seen.add(key)
    return PointKeys(duplicates, uniform)


def _raw_bodies(batches: list[Batch], gzipped: bool) -> Iterator[bytes]:
    for batch in batches:
        yield gzip_module.decompress(batch.body) if gzipped else batch.body


def _count_stored(server: Any, database: str, *, by_row: bool = False) -> int | None:
    """Points stored in ``database``: distinct (series, timestamp) pairs.

    ``by_row=False``: per series the largest per-field count, summed - cheap, and exact
    when every point of a series carries the same fields (true of every generated shape).
    ``by_row=True``: the rows of ``SELECT *``, one per series and timestamp, for data
    whose points carry different fields (``m a=1 1`` and ``m b=2 2`` are two points,
    though each field counts one).
    """
    from ..errors import QueryError

    query = "SELECT * FROM /.*/ GROUP BY *" if by_row else "SELECT count(*) FROM /.*/ GROUP BY *"
    try:
        rows = server.client().query(query, database).rows
    except QueryError:
        return None
    if by_row:
        return len(rows)
    total = 0
    for row in rows:
        counts = [v for k, v in row.items() if k.startswith("count_") and isinstance(v, int)]
        total += max(counts, default=0)
    return total
