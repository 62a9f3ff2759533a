"""Every gate outcome through pytest itself, against stored result files (deterministic).

The benchmarks in these pytester files run against a real InfluxDB (the process
provider), but the figures they record come from ``tests/data/results/``, so the
outcomes do not depend on how fast this machine is.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "results"

CASES = '''
import json
from pathlib import Path

import pytest

CURRENT = json.loads(Path(__file__).with_name("current-rounds.json").read_text())


def bench(influx_bench, name):
    figures = CURRENT[name]
    measurements = iter([figures["first"], figures["again"]])

    def measure():
        for pps, p99 in zip(next(measurements), figures["p99"]):
            influx_bench.record_write({"points_per_second": pps, "errors": [],
                                       "latency_ms": {"p50": p99 / 2, "p99": p99}})
    influx_bench.measure(measure)
    influx_bench.info("batch_size", 5000)


@pytest.mark.influx_bench(group="stored")
def test_steady(influx_bench):
    bench(influx_bench, "test_steady")


@pytest.mark.influx_bench(group="stored")
def test_slower(influx_bench):
    bench(influx_bench, "test_slower")


@pytest.mark.influx_bench(group="stored")
def test_blip(influx_bench):
    bench(influx_bench, "test_blip")


@pytest.mark.influx_bench(group="stored")
def test_faster(influx_bench):
    bench(influx_bench, "test_faster")


@pytest.mark.influx_bench(group="stored")
def test_new(influx_bench):
    bench(influx_bench, "test_new")


BODY_RUNS = []


@pytest.mark.influx_bench(group="stored")
def test_rerun_body(influx_bench):
    # No measure()/remeasure(): confirm-on-fail runs this body once more.
    BODY_RUNS.append(1)
    first = len(BODY_RUNS) == 1
    for pps in CURRENT["test_blip"]["first" if first else "again"]:
        influx_bench.metric("write points/s", pps, unit="points/s", direction="higher")


@pytest.mark.influx_bench(group="stored")
def test_broken(influx_bench):
    influx_bench.record_write({"points_per_second": 10.0, "latency_ms": {"p50": 1, "p99": 2},
                               "errors": ["HTTP 503 from the server: engine overloaded"]})
'''

ARGS = ("--influx-bench", "--influx-provider", "process", "--influx-scale", "smoke",
        "--influx-tier", "stored", "--influx-baselines", "baselines", "-p", "no:cacheprovider")


@pytest.fixture
def cases(pytester):
    """A pytester folder with the benchmark file and the figures it records."""
    pytester.makepyfile(test_gate_cases=CASES)
    shutil.copy(DATA / "current-rounds.json", pytester.path / "current-rounds.json")
    return pytester


def use_baseline(pytester, stored: str) -> None:
    target = pytester.path / "baselines" / "stored"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / stored, target / "baseline.json")


def test_a_run_whose_throughput_index_regressed_fails_in_fail_mode_only(cases):
    """Every test passes on its own (the blips are not confirmed on re-measure), but the
    run's throughput moved as a whole: ratios 0.998, 0.625, 0.625, geometric mean 0.731."""
    use_baseline(cases, "baseline-stored.json")
    selection = ("-k", "steady or blip or rerun_body")
    failed = cases.runpytest(*ARGS, *selection, "--influx-compare", "fail")
    failed.assert_outcomes(passed=3)
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    failed.stdout.fnmatch_lines(["REGRESSION: run: throughput index (geometric mean of 3 "
                                 "throughput metrics) is 27% below the baseline on tier stored "
                                 "(tolerance 10%)"])
    warned = cases.runpytest(*ARGS, *selection, "--influx-compare", "warn")
    warned.assert_outcomes(passed=3)
    assert warned.ret == pytest.ExitCode.OK


def test_fail_mode_fails_regressions_and_errors_only(cases):
    use_baseline(cases, "baseline-stored.json")
    result = cases.runpytest(*ARGS, "--influx-compare", "fail",
                             "--influx-report", "out/report.json", "--influx-report",
                             "out/report.md", "--influx-report", "out/report.csv")
    result.assert_outcomes(passed=5, failed=2, warnings=1)
    result.stdout.fnmatch_lines([
        "*test_slower*write points/s 180,000 is 25% below baseline 240,000 on tier stored "
        "(tolerance 10%); re-measured 181,000 (-25%)*",
    ])
    result.stdout.fnmatch_lines(["*infrastructure error, not judged as a regression*HTTP 503*"])
    result.stdout.fnmatch_lines([
        "influxperf: tier stored | server v1 * (process) | scale smoke | compare fail*",
        "*test_slower*write points/s*240,000*180,000*-25%*10%*REGRESSION*",
    ])
    result.stdout.fnmatch_lines(["*test_faster*write points/s*240,000*300,000*+25%*improved*"])
    result.stdout.fnmatch_lines(["*test_blip*not confirmed on re-measure*"])
    result.stdout.fnmatch_lines(["*test_rerun_body*not confirmed on re-measure*"
                                 "re-measured 240,000*"])
    result.stdout.fnmatch_lines(["*test_new*has no entry for this benchmark*"
                                 "--influx-save-baseline*"])
    # ratios 0.998, 0.75, 0.625, 1.25, 0.625 (steady, slower, blip, faster, rerun_body):
    # geometric mean 0.818, i.e. 18 % below
    result.stdout.fnmatch_lines(["REGRESSION: run: throughput index "
                                 "(geometric mean of 5 "
                                 "throughput metrics) is 18% below the baseline on tier stored "
                                 "(tolerance 10%)"])
    report = json.loads((cases.path / "out" / "report.json").read_text())
    assert report["run"]["kind"] == "regression" and report["run"]["name"] == "throughput index"
    kinds = {k.split("::")[1]: v["outcome"]["kind"] for k, v in report["benchmarks"].items()}
    assert kinds == {"test_steady": "pass", "test_slower": "regression", "test_blip": "pass",
                     "test_faster": "improvement", "test_new": "no-baseline",
                     "test_rerun_body": "pass", "test_broken": "error"}
    markdown = (cases.path / "out" / "report.md").read_text()
    assert "| `test_slower` | write points/s | 240,000 | 180,000 | -25% | 10% | ❌ regression |" \
        in markdown
    with open(cases.path / "out" / "report.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    slower = [r for r in rows if r["benchmark"].endswith("test_slower")
              and r["metric"] == "write points/s"]
    assert slower[0]["status"] == "regression" and float(slower[0]["current"]) == 180000.0


def test_warn_mode_reports_a_regression_without_failing(cases):
    use_baseline(cases, "baseline-stored.json")
    result = cases.runpytest(*ARGS, "--influx-compare", "warn")
    result.assert_outcomes(passed=6, failed=1, warnings=2)
    result.stdout.fnmatch_lines(["*PytestWarning: write points/s 180,000 is 25% below*"])


def test_environment_mismatch_warns_loudly_and_names_the_differences(cases):
    use_baseline(cases, "baseline-other-server.json")
    result = cases.runpytest(*ARGS, "--influx-compare", "fail")
    # one warning for the mismatch (not one per benchmark) and one for test_new's missing entry
    result.assert_outcomes(passed=6, failed=1, warnings=2)
    result.stdout.fnmatch_lines([
        "!!! ENVIRONMENT MISMATCH with the baseline, figures not judged: server version: "
        "baseline '0.9.0-stored', now *; cpu model: baseline 'Stored CPU 9000', now *; "
        "limits cpus: baseline 0.5, now None"])


def test_first_run_warns_then_saves_a_baseline_that_the_next_run_uses(cases):
    first = cases.runpytest(*ARGS, "--influx-compare", "fail", "-k", "steady or faster")
    first.assert_outcomes(passed=2, warnings=1)  # said once for the run
    first.stdout.fnmatch_lines(["*no baseline for tier stored in baselines: run "
                                "`pytest --influx-bench --influx-save-baseline`*"])
    saved = cases.runpytest(*ARGS, "--influx-save-baseline", "-k", "steady or faster")
    saved.assert_outcomes(passed=2)
    saved.stdout.fnmatch_lines(["baseline saved 2 benchmark(s) to baselines*stored*"
                                "baseline.json"])
    stored = json.loads((cases.path / "baselines" / "stored" / "baseline.json").read_text())
    assert sorted(stored["benchmarks"]) == ["test_gate_cases.py::test_faster",
                                            "test_gate_cases.py::test_steady"]
    env = stored["environment"]
    assert env["tier"] == "stored" and env["provider"] == "process" and env["scale"] == "smoke"
    assert {"server_version", "cpu_model", "cpu_count", "memory_bytes", "plugin_version",
            "git_commit", "date", "seed"} <= set(env)
    again = cases.runpytest(*ARGS, "--influx-compare", "fail", "-k", "steady or faster")
    again.assert_outcomes(passed=2)
    again.stdout.fnmatch_lines(["*test_steady*write points/s*239,500*239,500*+0.0%*ok*"])


def test_compare_off_does_not_judge(cases):
    use_baseline(cases, "baseline-stored.json")
    result = cases.runpytest(*ARGS, "--influx-compare", "off", "-k", "slower")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_slower*write points/s*180,000*"])


CLAIM_FILE = '''
import pytest


@pytest.mark.influx_bench(group="claims")
def test_window_rows(influx_bench):
    influx_bench.claim("8.3/window-1h-rows", 100, detail="stored figure")
'''


def test_strict_claims_fail_a_contradicted_claim_and_the_summary_shows_it(pytester):
    pytester.makepyfile(test_claim=CLAIM_FILE)
    args = ("--influx-bench", "--influx-provider", "process", "--influx-tier", "claims",
            "-p", "no:cacheprovider")
    relaxed = pytester.runpytest(*args)
    relaxed.assert_outcomes(passed=1)
    relaxed.stdout.fnmatch_lines(["guide claims (claimed against measured;*",
                                  "  claim * guide says * measured * verdict * detail",
                                  "  8.3/window-1h-rows * = 360 rows * 100 rows * contradicted*"])
    strict = pytester.runpytest(*args, "--influx-strict-claims")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*guide claim contradicted (--influx-strict-claims): "
                                 "8.3/window-1h-rows: contradicted*"])
