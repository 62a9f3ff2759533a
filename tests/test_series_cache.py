"""The disk cache: hits give the same bytes; corrupt, truncated or older entries are rebuilt."""

from __future__ import annotations

import struct

import pytest

from pytest_influxperf.series import SeriesFactory
from pytest_influxperf.series import cache as series_cache


@pytest.fixture
def factory(tmp_path) -> SeriesFactory:
    return SeriesFactory(cache_dir=tmp_path / "cache")


def _entries(factory: SeriesFactory) -> list:
    return sorted(factory.cache_dir.glob("*.lp"))


def test_second_call_is_a_hit_with_the_same_bytes(factory):
    first = factory("cpu-only", hosts=3, points=500, seed=1)
    second = factory("cpu-only", hosts=3, points=500, seed=1)
    assert (first.cache_status, second.cache_status) == ("miss", "hit")
    assert first.to_bytes() == second.to_bytes()
    assert list(first.batches(64)) == list(second.batches(64))
    assert (second.measurements, second.tag_keys, second.field_keys) == (
        first.measurements, first.tag_keys, first.field_keys)
    assert (second.start_ns, second.end_ns, second.nbytes) == (first.start_ns, first.end_ns, first.nbytes)
    assert second.to_frame().equals(first.to_frame())
    factory.flush()
    assert len(_entries(factory)) == 1
    assert not list(factory.cache_dir.glob("*.tmp")), "no temporary file left behind"


@pytest.mark.parametrize("change", [{"seed": 2}, {"points": 501}, {"hosts": 4}, {"precision": "ms"},
                                    {"interval_s": 20}, {"start": "2020-01-01T00:00:00Z"}])
def test_any_parameter_makes_its_own_entry(factory, change):
    base = dict(hosts=3, points=500, seed=1)
    factory("cpu-only", **base)
    other = factory("cpu-only", **{**base, **change})
    assert other.cache_status == "miss"
    factory.flush()
    assert len(_entries(factory)) == 2


def _damage(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[-10] ^= 0x01  # one bit in the payload
    elif how == "truncate":
        data = data[: len(data) // 2]
    elif how == "old-format":
        magic, fmt, *rest = struct.unpack_from("<8sII", data)
        struct.pack_into("<8sII", data, 0, magic, fmt - 1 if fmt > 1 else 99, *rest)
    elif how == "garbage":
        data = bytearray(b"not a cache entry")
    elif how == "empty":
        data = bytearray()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip", "truncate", "old-format", "garbage", "empty"])
def test_a_bad_entry_is_rebuilt_not_trusted(factory, how):
    good = factory("devops", hosts=2, points=300, seed=7)
    factory.flush()
    (entry,) = _entries(factory)
    _damage(entry, how)
    assert series_cache.load(entry) is None
    again = factory("devops", hosts=2, points=300, seed=7)
    assert again.cache_status == "rebuilt"
    assert again.to_bytes() == good.to_bytes()
    third = factory("devops", hosts=2, points=300, seed=7)
    assert third.cache_status == "hit" and third.to_bytes() == good.to_bytes()


def test_older_generator_version_is_not_reused(factory, monkeypatch):
    factory("simple", points=100)
    monkeypatch.setattr(series_cache, "GENERATOR_VERSION", series_cache.GENERATOR_VERSION + 1)
    assert factory("simple", points=100).cache_status == "miss"


def test_align_now_reuses_the_cached_bytes(factory):
    now = 1_800_000_000_000_000_000
    plain = SeriesFactory(None)("iot", hosts=4, points=400, seed=3, align_now=True, now_ns=now)
    miss = factory("iot", hosts=4, points=400, seed=3, align_now=True, now_ns=now)
    later = factory("iot", hosts=4, points=400, seed=3, align_now=True, now_ns=now + 3600 * 10**9)
    assert miss.cache_status == "miss" and later.cache_status == "hit"
    assert miss.to_bytes() == plain.to_bytes()
    assert later.end_ns == miss.end_ns + 3600 * 10**9
    frame, later_frame = miss.to_frame(), later.to_frame()
    assert ((later_frame["time"] - frame["time"]).dt.total_seconds() == 3600).all()
    assert list(later.lines())[5].rsplit(" ", 1)[1] == str(int(later_frame["time"].astype("int64")[5]))


def test_a_failed_cache_write_is_recorded_not_raised(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    factory = SeriesFactory(cache_dir=blocker / "cache")
    series = factory("simple", points=10)
    factory.flush()
    assert len(series) == 10
    assert factory.cache_errors and isinstance(factory.cache_errors[0], OSError)


def test_least_recently_used_entries_are_evicted(tmp_path):
    factory = SeriesFactory(cache_dir=tmp_path, max_cache_bytes=250_000)
    sizes = []
    for seed in range(4):
        sizes.append(factory("simple", points=2_000, seed=seed, start=seed * 10**18).nbytes)
        factory.flush()
    assert sum(p.stat().st_size for p in tmp_path.glob("*.lp")) <= 250_000
    newest = factory("simple", points=2_000, seed=3, start=3 * 10**18)
    assert newest.cache_status == "hit"
    oldest = factory("simple", points=2_000, seed=0, start=0)
    assert oldest.cache_status == "miss"


def test_no_cache_dir_means_no_cache():
    series = SeriesFactory(None)("simple", points=10)
    assert series.cache_status == "off"
