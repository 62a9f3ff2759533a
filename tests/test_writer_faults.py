"""Fault tests: a body over max-body-size and a server killed mid-write (real influxd,
started here so the shared session server is not harmed), and 429/503 with Retry-After
(a FAKE server: a real influxd 1.x does not answer 429)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from pytest_influxperf.client import InfluxClient
from pytest_influxperf.harness import Writer
from pytest_influxperf.harness.accounting import SERVER_ERROR, TOO_LARGE, TRANSPORT
from pytest_influxperf.servers.process import ProcessServer
from pytest_influxperf.servers.url import UrlServer
from tests.fakes.influx_fake import FakeInfluxServer

from .test_writer import assert_balanced, lines

DB = "faults"


@pytest.fixture
def small_body_server(no_leftovers):
    with ProcessServer(config={"http": {"max-body-size": 20_000}}) as server:
        server.client().create_database(DB)
        yield server


def test_a_body_over_max_body_size_is_counted_with_advice(small_body_server):
    writer = Writer(small_body_server, default_database=DB)
    result = writer.write(lines(3000), batch_size=1000, verify=True)
    assert_balanced(result)
    assert result.points_accepted == 0 and result.points_refused == 3000
    assert result.rejected_by_reason == {TOO_LARGE: 3000}
    (record,) = result.errors
    assert record.status == 413 and record.count == 3
    assert "lower the batch size" in record.message and "batch_size" in record.message
    assert result.retries == 0  # waiting does not make a body smaller
    # The advice works: small batches fit.
    smaller = writer.write(lines(3000), batch_size=100, verify=True)
    assert smaller.points_accepted == 3000 and smaller.verified_count == 3000


def test_server_killed_mid_write_ends_in_bounded_time_with_every_point_counted(no_leftovers):
    total = 400_000
    data = lines(total, hosts=100)
    with ProcessServer() as server:
        server.client().create_database(DB)
        writer = Writer(server, default_database=DB)
        # A paced write (about 8 s if undisturbed) killed after 2 s (preparing the batches
        # takes a few tenths of a second of those).
        killer = threading.Timer(2.0, server.proc.kill)
        killer.start()
        began = time.monotonic()
        try:
            result = writer.write(data, batch_size=2000, workers=2, target_rate=50_000,
                                  timeout=5.0, retries=3)
        finally:
            killer.cancel()
        took = time.monotonic() - began
    assert_balanced(result)
    assert took < 20  # the bound: one request timeout and one backoff, not 200 batches' worth
    assert result.aborted and "stopped running" in result.aborted
    assert 0 < result.points_accepted < total
    assert result.points_unsent > 0
    assert result.points_failed > 0 and result.rejected_by_reason.get(TRANSPORT, 0) > 0
    assert result.points_accepted + result.points_failed + result.points_refused \
        + result.points_unsent == total


class BusyFake:
    """Routes for a FAKE /write that answers ``busy_status`` ``busy_times`` times (with
    Retry-After), then 204; records when each write arrived."""

    def __init__(self, busy_status: int, busy_times: int, retry_after: str) -> None:
        self.busy_status, self.busy_times, self.retry_after = busy_status, busy_times, retry_after
        self.arrivals: list[float] = []

    def write(self, request):
        self.arrivals.append(time.monotonic())
        if len(self.arrivals) <= self.busy_times:
            return self.busy_status, {"Retry-After": self.retry_after}, {"error": "busy"}
        return 204, {}, b""

    def routes(self):
        return {("GET", "/ping"): (204, {"X-Influxdb-Version": "1.8.10"}, b""),
                ("POST", "/write"): self.write}


@pytest.mark.parametrize("status", [429, 503])
def test_fake_server_busy_with_retry_after_is_retried_after_the_wait(status):
    busy = BusyFake(status, busy_times=2, retry_after="1")
    with FakeInfluxServer(busy.routes()) as fake:
        server = UrlServer(fake.url).start()
        result = Writer(server, default_database=DB).write(lines(100), batch_size=100,
                                                           retries=3, sample_resources=False)
    assert_balanced(result)
    assert result.points_accepted == 100 and result.errors == []
    assert result.requests == 3 and result.retries == 2 and result.latency_ms.count == 3
    (record,) = result.retried
    assert record.status == status and record.count == 2
    gaps = [b - a for a, b in zip(busy.arrivals, busy.arrivals[1:])]
    assert all(gap >= 0.95 for gap in gaps), gaps  # Retry-After: 1 honored, not jitter


def test_fake_server_busy_beyond_the_retries_counts_the_points_as_failed():
    busy = BusyFake(503, busy_times=100, retry_after="0")
    with FakeInfluxServer(busy.routes()) as fake:
        server = UrlServer(fake.url).start()
        result = Writer(server, default_database=DB).write(lines(300), batch_size=100,
                                                           retries=2, sample_resources=False)
    assert_balanced(result)
    assert result.points_accepted == 0 and result.points_failed == 300
    assert result.rejected_by_reason == {SERVER_ERROR: 300}
    assert result.requests == 9 and result.retries == 6  # 3 batches x (1 + 2 retries)
    assert result.errors[0].status == 503 and result.errors[0].count == 3


class SilentFake:
    """A FAKE server: accepts TCP connections, reads, never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.api = "v1"
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(conn)

    def client(self) -> InfluxClient:
        return InfluxClient(self.url)

    def __enter__(self) -> SilentFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.held:
            conn.close()
        self.sock.close()


def test_fake_server_that_never_answers_hits_the_request_timeout():
    with SilentFake() as fake:
        began = time.monotonic()
        result = Writer(fake, default_database=DB).write(
            lines(100), batch_size=100, retries=1, timeout=0.3, sample_resources=False)
        took = time.monotonic() - began
        accepted = len(fake.held)
    assert_balanced(result)
    assert result.points_failed == 100 and result.requests == 2 and accepted >= 1
    assert "Timeout" in result.errors[0].message
    assert took < 5  # two attempts cut at 0.3 s and one short backoff: bounded
    assert all(250 < lat < 2000 for lat in result.latency_ms.samples)
