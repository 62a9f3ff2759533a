"""Pure parts of the harness: batches, accounting, retry timing, latency statistics."""

from __future__ import annotations

import email.utils
import random
import time

import numpy as np
import pytest

from pytest_influxperf.harness import Latency, Ledger, RetryPolicy, parse_retry_after, prepare_batches
from pytest_influxperf.harness.accounting import REFUSED, SERVER_ERROR, TRANSPORT


class TinySeries:
    """Duck-typed like a Series: ``batches(size)`` and ``len``."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __len__(self) -> int:
        return len(self.lines)

    def batches(self, size: int):
        for i in range(0, len(self.lines), size):
            yield ("\n".join(self.lines[i:i + size]) + "\n").encode()


LINES = [f"m,host=h{i % 3} v={i} {i}" for i in range(10)]


@pytest.mark.parametrize("data", [LINES, [line.encode() for line in LINES], TinySeries(LINES),
                                  "\n".join(LINES), ("\n".join(LINES) + "\n").encode()],
                         ids=["str-lines", "bytes-lines", "series", "one-str", "one-bytes"])
def test_prepare_batches_counts_every_point_once(data):
    batches = prepare_batches(data, 4)
    assert [b.points for b in batches] == [4, 4, 2]
    assert sum(b.raw_bytes for b in batches) == sum(len(b.body) for b in batches)


def test_blank_lines_and_comments_are_not_points():
    batches = prepare_batches(TinySeries(["m v=1 1", "", "# a comment", "  ", "m v=2 2"]), 10)
    assert [b.points for b in batches] == [2]


def test_gzip_bodies_are_smaller_and_keep_the_raw_size():
    lines = [f"cpu,host=host{i % 10} usage={i % 7}.5 {i}" for i in range(2000)]
    plain = prepare_batches(lines, 1000)
    zipped = prepare_batches(lines, 1000, gzip=True, gzip_level=9)
    assert [b.raw_bytes for b in zipped] == [b.raw_bytes for b in plain]
    assert all(len(z.body) < len(p.body) / 3 for z, p in zip(zipped, plain))


def test_a_line_that_is_not_text_is_a_clear_error():
    with pytest.raises(TypeError, match="str or bytes"):
        prepare_batches([1, 2, 3], 10)
    with pytest.raises(TypeError, match="Series or an iterable"):
        prepare_batches(42, 10)


def test_ledger_balances_and_merges():
    a, b = Ledger(), Ledger()
    a.sent(10, 100, 50)
    a.accepted(7)
    a.lost(REFUSED, 400, 3, "unable to parse 'x'")
    b.sent(5, 60, 60)
    b.retry(SERVER_ERROR, 503, "busy")
    b.lost(TRANSPORT, None, 5, "ConnectionError")
    a.merge(b)
    a.check()
    assert (a.points_sent, a.points_accepted, a.points_refused, a.points_failed) == (15, 7, 3, 5)
    assert a.points_rejected == 8 and a.retries == 1
    assert a.rejected_by_reason() == {REFUSED: 3, TRANSPORT: 5}


def test_ledger_check_catches_a_lost_point():
    ledger = Ledger()
    ledger.sent(10, 1, 1)
    ledger.accepted(9)
    with pytest.raises(AssertionError, match="does not balance"):
        ledger.check()


def test_error_records_count_everything_and_show_a_few():
    ledger = Ledger()
    for i in range(20):
        ledger.sent(1, 1, 1)
        ledger.lost(REFUSED, 400, 1, f"unable to parse 'bad{i}'")
    (record,) = ledger.errors.values()
    assert record.count == 20 and record.points == 20
    assert len(record.messages) == 5 and record.message == "unable to parse 'bad0'"


def test_backoff_grows_is_capped_and_jittered():
    policy = RetryPolicy(retries=10, base_s=0.1, cap_s=1.0)
    rng = random.Random(1)
    for attempt in range(10):
        ceiling = min(1.0, 0.1 * 2 ** attempt)
        delays = [policy.delay(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered, not a constant


def test_retry_after_is_honored_and_capped():
    policy = RetryPolicy(retry_after_cap_s=5.0)
    assert policy.delay(0, "2") == 2.0
    assert policy.delay(3, "120") == 5.0
    assert policy.should_retry(429) and policy.should_retry(503) and policy.should_retry(None)
    assert not policy.should_retry(400) and not policy.should_retry(413)


def test_parse_retry_after_reads_seconds_and_http_dates():
    now = time.time()
    assert parse_retry_after("3") == 3.0
    date = email.utils.formatdate(now + 10, usegmt=True)
    assert 8.0 <= parse_retry_after(date, now=now) <= 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("-4") == 0.0


def test_latency_percentiles_match_numpy():
    samples = np.random.default_rng(3).lognormal(size=1000)
    lat = Latency.from_samples(samples)
    assert lat.count == 1000 and lat.max == samples.max() and lat.min == samples.min()
    assert lat.p50 == pytest.approx(np.percentile(samples, 50))
    assert lat.p999 == pytest.approx(np.percentile(samples, 99.9))
    assert lat.p50 <= lat.p95 <= lat.p99 <= lat.p999 <= lat.max
    assert "samples" not in lat.as_dict() and len(lat.samples) == 1000


def test_latency_without_samples_is_empty_not_zero():
    lat = Latency.from_samples([])
    assert lat.count == 0 and lat.p50 is None and str(lat) == "no samples"
