"""``influxperf compare``: baselines and reports side by side, judged only within a tier."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from pytest_influxperf.bench.baseline import save_baseline
from pytest_influxperf.bench.records import BenchmarkRecord, Metric
from pytest_influxperf.cli import main

DATA = Path(__file__).parent / "data" / "results"
ENV = {"provider": "process", "api": "v1", "server_version": "1.6.7", "scale": "smoke"}


def tier(root: Path, name: str, pps: float, **env) -> Path:
    record = BenchmarkRecord("s.py::test_write", "test_write")
    record.metrics["write points/s"] = Metric("write points/s", pps, "points/s", "higher",
                                              [pps * 0.99, pps, pps * 1.01])
    save_baseline(root, name, dict(ENV, **env), [record])
    return root / name


def test_same_tier_regression_exits_1_only_when_asked(tmp_path, capsys):
    main_branch = tier(tmp_path / "main", "ci", 240000.0)
    pull_request = tier(tmp_path / "pr", "ci", 180000.0)
    assert main(["compare", str(main_branch), str(pull_request)]) == 0
    assert main(["compare", str(main_branch), str(pull_request), "--fail-on-regression"]) == 1
    out = capsys.readouterr().out
    assert "[B] " in out and "judged against the reference" in out
    assert "180,000 (-25%, regression)" in out
    assert ("REGRESSION s.py::test_write: write points/s 180,000 is 25% below baseline "
            "240,000 on tier ci (tolerance 10%)") in out


def test_other_tiers_are_side_by_side_never_a_regression(tmp_path, capsys):
    big = tier(tmp_path / "b", "big", 240000.0, cpu_count=8)
    small = tier(tmp_path / "b", "small", 90000.0, cpu_count=2)
    assert main(["compare", str(big), str(small), "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert "side by side, not judged (tier big vs small; cpu count: baseline 8, now 2)" in out
    assert "90,000 (-62%)" in out and "REGRESSION" not in out


def test_a_baselines_root_expands_to_its_tiers(tmp_path, capsys):
    tier(tmp_path, "a", 1000.0)
    tier(tmp_path, "b", 2000.0)
    assert main(["compare", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tier a" in out and "tier b" in out and "2,000 (+100%)" in out


def test_a_report_compares_with_a_baseline(tmp_path, capsys):
    shutil.copytree(DATA, tmp_path / "data")
    baseline = tmp_path / "data" / "baseline-stored.json"
    report = json.loads(baseline.read_text())
    report["format"] = "pytest-influxperf report 1"
    report["benchmarks"]["test_gate_cases.py::test_slower"]["metrics"]["write points/s"].update(
        value=150000.0, rounds=[150000.0, 151000.0, 149000.0])
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert main(["compare", str(baseline), str(tmp_path / "report.json"),
                 "--fail-on-regression"]) == 1
    assert "150,000 (-38%, regression)" in capsys.readouterr().out


def test_bad_input_says_what_to_give(tmp_path, capsys):
    (tmp_path / "x.json").write_text("{}")
    assert main(["compare", str(tmp_path / "x.json"), str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "neither a pytest-influxperf baseline nor a JSON report" in err


def test_console_script_runs_compare(tmp_path):
    a = tier(tmp_path, "ci", 100.0)
    done = subprocess.run([sys.executable, "-m", "pytest_influxperf.cli", "compare", str(a),
                           str(a), "--fail-on-regression"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "100 (+0.0%)" in done.stdout
