"""Reports, charts and pytest-benchmark interoperation."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from pytest_influxperf.bench.pbjson import entries, seconds_per_op
from pytest_influxperf.bench.plots import write_plots
from pytest_influxperf.bench.report import to_csv, to_markdown
from pytest_influxperf.bench.session import BenchSession, BenchSettings

from .conftest import require_module

DATA = Path(__file__).parent / "data" / "results"
SERVER = {"provider": "process", "api": "v1", "server_version": "1.6.7"}


def sample_session(tmp_path: Path) -> BenchSession:
    """A finished session: a batch-size sweep and a writer sweep, compared with a baseline."""
    settings = BenchSettings(baselines_dir=tmp_path / "b", tier="t", save_baseline=True)
    session = BenchSession(settings, lambda: dict(SERVER))
    for batch, pps in ((100, 20000.0), (1000, 90000.0), (10000, 150000.0)):
        rec = session.new_recorder(f"s.py::test_batch[{batch}]", f"test_batch[{batch}]",
                                   "batch", {"batch_size": batch})
        for factor in (0.98, 1.0, 1.02):
            rec.record_write({"points_per_second": pps * factor, "errors": [],
                              "latency_ms": {"p50": 1e5 / pps, "p99": 3e5 / pps}})
        rec.record_query({"latency_ms": {"p50": 2.0, "p95": 5.0}, "rows": 10, "bytes": 99})
        session.finish_test(rec)
    for workers, pps in ((1, 100000.0), (2, 170000.0), (4, 190000.0)):
        rec = session.new_recorder(f"s.py::test_workers[{workers}]", f"test_workers[{workers}]",
                                   "workers", {"workers": workers})
        rec.metric("write points/s", pps, unit="points/s", direction="higher")
        session.finish_test(rec)
    session.finish_session()
    return session


def compared_session(tmp_path: Path) -> BenchSession:
    sample_session(tmp_path)  # stores the baseline
    settings = BenchSettings(baselines_dir=tmp_path / "b", tier="t")
    session = BenchSession(settings, lambda: dict(SERVER))
    for batch, pps in ((100, 20500.0), (1000, 60000.0), (10000, 190000.0)):
        rec = session.new_recorder(f"s.py::test_batch[{batch}]", f"test_batch[{batch}]",
                                   "batch", {"batch_size": batch})
        rec.record_write({"points_per_second": pps, "errors": [],
                          "latency_ms": {"p50": 1e5 / pps, "p99": 3e5 / pps}})
        session.finish_test(rec)
    return session


def test_markdown_and_csv_carry_every_metric(tmp_path):
    from pytest_influxperf.bench.report import build_report

    report = build_report(compared_session(tmp_path))
    markdown = to_markdown(report)
    assert "| `test_batch[1000]` | write points/s | 90,000 | 60,000 | -33% | 10% | " \
           "❌ regression |" in markdown
    assert "🚀 improvement" in markdown and "### Findings" in markdown
    lines = to_csv(report).splitlines()
    assert lines[0] == ("tier,benchmark,group,metric,unit,direction,baseline,current,change,"
                        "tolerance,status,outcome")
    # 3 benchmarks x (3 write metrics + 2 query metrics the baseline has and this run lacks)
    assert len(lines) == 1 + 3 * 5
    assert sum(line.endswith(",missing,regression") or ",missing," in line
               for line in lines) == 6


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_plots_are_written_for_the_data_the_run_has(tmp_path):
    require_module("matplotlib", "pip install -e '.[plots]'")
    from pytest_influxperf.bench.report import build_report

    paths = write_plots(build_report(compared_session(tmp_path)), tmp_path / "plots")
    names = sorted(p.name for p in paths)
    assert names == ["baseline-vs-current.png", "batch-size.png", "latency-percentiles.png"]
    for path in paths:
        width, height = png_size(path)
        assert width >= 600 and height >= 250
    sweep = write_plots(build_report(sample_session(tmp_path / "again")), tmp_path / "sweep")
    assert "writer-scaling.png" in {p.name for p in sweep}


def test_rates_and_latencies_become_seconds_per_operation():
    assert seconds_per_op(200000.0, "points/s") == pytest.approx(5e-6)
    assert seconds_per_op(12.0, "ms") == pytest.approx(0.012)
    assert seconds_per_op(100.0, "bytes") is None


def test_benchmark_entries_have_pytest_benchmark_stats(tmp_path):
    session = compared_session(tmp_path)
    out = entries(session.results, "t")
    names = {e["name"] for e in out}
    assert "test_batch[1000][write points/s]" in names
    entry = next(e for e in out if e["name"] == "test_batch[1000][write points/s]")
    assert entry["stats"]["ops"] == pytest.approx(60000.0)
    assert entry["extra_info"]["influxperf"]["outcome"] == "regression"
    assert entry["extra_info"]["influxperf"]["baseline"] == pytest.approx(90000.0)
    assert {"min", "max", "mean", "stddev", "median", "iqr", "rounds"} <= set(entry["stats"])


BENCH_FILE = '''
import pytest


@pytest.mark.influx_bench(group="interop", batch_size=5000)
def test_influx(influx_bench):
    for pps in (100000.0, 110000.0, 90000.0):
        influx_bench.metric("write points/s", pps, unit="points/s", direction="higher")
    influx_bench.metric("query latency p95", 12.0, unit="ms", direction="lower")
'''

PB_FILE = '''
def test_plain_pytest_benchmark(benchmark):
    benchmark(sum, range(100))
'''


# pytest-benchmark warns "Not saving anything" before the plugin writes the file for it.
@pytest.mark.filterwarnings("ignore:Not saving anything")
@pytest.mark.parametrize("with_pytest_benchmark", [False, True], ids=["alone", "mixed"])
def test_results_join_the_benchmark_json_file(pytester, with_pytest_benchmark):
    pytester.makepyfile(test_influx=BENCH_FILE)
    if with_pytest_benchmark:
        pytester.makepyfile(test_pb=PB_FILE)
    result = pytester.runpytest("--influx-bench", "--influx-provider", "process",
                                "--influx-tier", "interop", "--influx-compare", "warn",
                                "--benchmark-json", "bench.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2 if with_pytest_benchmark else 1, warnings=1)
    data = json.loads((pytester.path / "bench.json").read_text())
    names = sorted(b["name"] for b in data["benchmarks"])
    expected = ["test_influx[query latency p95]", "test_influx[write points/s]"]
    if with_pytest_benchmark:
        expected.append("test_plain_pytest_benchmark")
    assert names == sorted(expected)
    ours = next(b for b in data["benchmarks"] if b["name"] == "test_influx[write points/s]")
    # seconds per point: the median round is 100,000 points/s
    assert 1 / ours["stats"]["median"] == pytest.approx(100000.0)
    assert ours["stats"]["rounds"] == 3
    assert ours["extra_info"]["influxperf"]["info"] == {"batch_size": 5000}
    assert ours["extra_info"]["influxperf"]["outcome"] == "no-baseline"
    machine = data["machine_info"]["influxperf"]
    assert machine["tier"] == "interop" and machine["provider"] == "process"
    assert machine["server_version"]
