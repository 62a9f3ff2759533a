"""``influxperf capacity``: the guide's formula computed right, its printed example checked
line by line, and ``--from-report`` reading a benchmark report."""

from __future__ import annotations

import json

import pytest

from pytest_influxperf import capacity
from pytest_influxperf.capacity import GB, GIB, CapacityError, estimate
from pytest_influxperf.cli import main


def test_guide_example_by_hand():
    e = estimate(points_per_second=1000, point_size_bytes=200, retention_days=90,
                 compression_ratio=7)
    assert e.points_per_day == 86_400_000
    assert e.raw_bytes_per_day == 17_280_000_000
    assert e.raw_bytes_per_day / GIB == pytest.approx(16.093, abs=1e-3)
    assert e.compressed_bytes_per_day / GIB == pytest.approx(16.093 / 7, abs=1e-3)
    assert e.total_bytes / GB == pytest.approx(17.28 / 7 * 90, rel=1e-9)
    assert e.with_overhead_bytes == pytest.approx(e.total_bytes * 1.2)
    assert e.recommended_bytes == pytest.approx(e.total_bytes * 2.4)


def test_which_printed_lines_of_the_guide_follow():
    lines = {line.label: line for line in capacity.check_guide_example()}
    assert not lines["Raw data per day"].follows          # 16.13 printed, 16.09 GiB
    assert lines["Compressed per day"].follows            # 2.30 either way
    assert not lines["Total storage needed"].follows      # 207.40 printed, 206.91 GiB
    assert not lines["With overhead (20%)"].follows
    assert not lines["Recommended provision"].follows
    assert lines["Total storage needed"].computed_gib == pytest.approx(206.91, abs=0.01)


def test_estimate_rejects_nonsense():
    with pytest.raises(CapacityError, match="compression_ratio must be a positive"):
        estimate(points_per_second=1, point_size_bytes=1, retention_days=1, compression_ratio=0)
    with pytest.raises(CapacityError, match="overhead is a fraction"):
        estimate(points_per_second=1, point_size_bytes=1, retention_days=1, overhead=-1)


def test_cli_prints_both_units(capsys):
    assert main(["capacity", "--points-per-second", "1000", "--point-size", "200",
                 "--retention-days", "90", "--compression", "7"]) == 0
    out = capsys.readouterr().out
    assert "17.28 GB" in out and "16.09 GiB" in out and "496.59 GiB" in out


def test_cli_guide_example_flags_the_lines(capsys):
    assert main(["capacity", "--guide-example"]) == 0
    out = capsys.readouterr().out
    assert out.count("DOES NOT FOLLOW") == 4


def test_cli_rejects_a_negative_rate(capsys):
    with pytest.raises(SystemExit):
        main(["capacity", "--points-per-second", "-5"])
    assert "positive number" in capsys.readouterr().err


def _report(tmp_path, info):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"format": "pytest-influxperf report 1", "benchmarks": {
        "suites/test_8_6_storage.py::test_bytes_per_point": {"name": "x", "info": info},
        "suites/test_other.py::t": {"name": "y", "info": {"write bytes_per_point": 99.0}}}}))
    return path


def test_from_report_uses_measured_bytes_per_point(tmp_path, capsys):
    path = _report(tmp_path, {"disk_bytes_per_point": 20.0, "raw_bytes_per_point": 160.0})
    measured = capacity.read_report(path)
    assert (measured.disk_bytes_per_point, measured.raw_bytes_per_point) == (20.0, 160.0)
    assert measured.source == "suites/test_8_6_storage.py::test_bytes_per_point"
    assert main(["capacity", "--from-report", str(path), "--points-per-second", "1000",
                 "--retention-days", "1"]) == 0
    out = capsys.readouterr().out
    assert "compression 8.00x" in out
    # 1000 points/s x 86,400 s x 20 B = 1.728 GB a day
    assert "1.73 GB" in out


def test_from_report_without_the_key_says_which_benchmark_records_it(tmp_path):
    path = _report(tmp_path, {"something": 1})
    with pytest.raises(CapacityError, match="disk_bytes_per_point.*test_8_6_storage"):
        capacity.read_report(path)


def test_from_report_missing_file_and_conflicting_flags(tmp_path, capsys):
    assert main(["capacity", "--from-report", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    path = _report(tmp_path, {"disk_bytes_per_point": 20.0})
    assert main(["capacity", "--from-report", str(path), "--compression", "5"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_from_report_with_several_sizes_asks_which(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"benchmarks": {
        "s.py::t[simple]": {"info": {"disk_bytes_per_point": 2.26, "raw_bytes_per_point": 55.9}},
        "s.py::t[cpu-only]": {"info": {"disk_bytes_per_point": 6.33,
                                       "raw_bytes_per_point": 344.9}}}}))
    with pytest.raises(CapacityError, match=r"2 benchmarks .*--benchmark"):
        capacity.read_report(path)
    assert capacity.read_report(path, "cpu-only").disk_bytes_per_point == 6.33
    assert main(["capacity", "--from-report", str(path), "--benchmark", "simple"]) == 0
    assert "2.26 bytes per point on disk" in capsys.readouterr().out
    assert main(["capacity", "--benchmark", "simple"]) == 2


def test_from_report_accepts_a_bare_figure(tmp_path):
    path = tmp_path / "bpp.json"
    path.write_text(json.dumps({"disk_bytes_per_point": 41.2}))
    assert capacity.read_report(path).disk_bytes_per_point == 41.2
