"""Baseline saves as data that must not be lost: atomic, locked, backed up, loud on failure.

No server: ``save_baseline`` is called directly, and the one pytester run stands in a
dummy for the ``influxdb`` fixture (a failed save is decided after the tests, not by them).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from pytest_influxperf.bench import baseline as store
from pytest_influxperf.bench.baseline import (
    FILENAME,
    FORMAT,
    BaselineSaveError,
    load_baseline,
    save_baseline,
)
from pytest_influxperf.bench.records import BenchmarkRecord, Metric
from pytest_influxperf.bench.session import BenchSession, BenchSettings

TIER = "ci-store"
ENV = {"provider": "process", "api": "v1", "server_version": "1.8.10", "cpu_count": 2,
       "scale": "smoke", "seed": 42, "git_commit": "0123456789abcdef"}
TRIALS = 20


def record(nodeid: str, value: float) -> BenchmarkRecord:
    return BenchmarkRecord(nodeid, nodeid.rpartition("::")[2], metrics={
        "write points/s": Metric("write points/s", value, "points/s", "higher")})


def leftovers(folder: Path) -> list[str]:
    """Files a save must not leave behind (the lock file and backups are meant to stay)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- two processes saving at the same moment -------------------------------------------
def _save_when_released(baselines: str, nodeid: str, value: float, barrier) -> None:
    barrier.wait(timeout=30)  # both processes leave this line together
    save_baseline(Path(baselines), TIER, ENV,
                  [record(nodeid, value), record("test_x.py::test_common", value)])


def _context() -> multiprocessing.context.BaseContext:
    # fork: the child starts in milliseconds, so the two saves really overlap.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def test_two_processes_saving_together_both_land(tmp_path):
    ctx = _context()
    kept_both = 0
    problems = []
    for trial in range(TRIALS):
        baselines = tmp_path / f"trial{trial}"
        barrier = ctx.Barrier(2)
        procs = [ctx.Process(target=_save_when_released,
                             args=(str(baselines), f"test_x.py::test_{who}", value, barrier))
                 for who, value in (("a", 1000.0), ("b", 2000.0))]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        codes = [proc.exitcode for proc in procs]
        path = baselines / TIER / FILENAME
        try:
            data = json.loads(path.read_text())  # valid JSON, or this trial failed
        except (OSError, ValueError) as exc:
            problems.append(f"trial {trial}: {exc}")
            continue
        benchmarks = data["benchmarks"]
        runs = benchmarks.get("test_x.py::test_common", {}).get("metrics", {}) \
            .get("write points/s", {}).get("runs")
        if codes == [0, 0] and {"test_x.py::test_a", "test_x.py::test_b"} <= set(benchmarks) \
                and sorted(runs or []) == [1000.0, 2000.0] and not leftovers(path.parent):
            kept_both += 1
        else:
            problems.append(f"trial {trial}: exit codes {codes}, benchmarks "
                            f"{sorted(benchmarks)}, common runs {runs}")
    print(f"\ntwo concurrent saves kept both runs in {kept_both} of {TRIALS} trials")
    assert kept_both == TRIALS, problems


def test_same_commit_saves_accumulate_runs(tmp_path):
    save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 100.0)])
    _, summary = save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 300.0)])
    metric = load_baseline(tmp_path, TIER).benchmarks["t.py::test_w"].metrics["write points/s"]
    assert metric.runs == [100.0, 300.0] and metric.value == 200.0
    assert "run 2 of build 0123456789" in summary


def test_a_save_leaves_a_shared_readable_file_and_no_temp(tmp_path):
    path, _ = save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 100.0)])
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
    assert leftovers(path.parent) == []
    assert (path.parent / (FILENAME + ".lock")).exists()


# -- backups of what the save cannot read -----------------------------------------------
@pytest.mark.parametrize("content, why", [
    ('{"format": "pytest-influxperf baseline 1", "benchmarks": {', "Expecting"),
    (json.dumps({"format": "pytest-influxperf baseline 2", "tier": TIER, "benchmarks": {}}),
     "not a pytest-influxperf baseline"),
], ids=["invalid-json", "other-format"])
def test_an_unusable_file_is_backed_up_before_it_is_replaced(tmp_path, content, why):
    folder = tmp_path / TIER
    folder.mkdir()
    (folder / FILENAME).write_text(content)
    path, summary = save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 100.0)])
    backups = sorted(folder.glob(FILENAME + ".bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == content
    assert backups[0].name in summary and why in summary
    assert json.loads(path.read_text())["format"] == FORMAT
    assert leftovers(folder) == []


def test_backups_never_overwrite_each_other(tmp_path):
    folder = tmp_path / TIER
    folder.mkdir()
    for n in range(3):  # within one second: the same time stamp
        (folder / FILENAME).write_text(f"broken {n}")
        save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 100.0)])
    assert sorted(p.read_text() for p in folder.glob(FILENAME + ".bak-*")) == \
        ["broken 0", "broken 1", "broken 2"]


def test_a_readable_baseline_is_not_backed_up(tmp_path):
    save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 100.0)])
    _, summary = save_baseline(tmp_path, TIER, dict(ENV, git_commit="other"),
                               [record("t.py::test_w", 100.0)])
    assert "bak-" not in summary and not list((tmp_path / TIER).glob("*.bak-*"))


# -- saves that cannot write -----------------------------------------------------------
def test_a_save_under_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(BaselineSaveError) as info:
        save_baseline(blocker / "x", TIER, ENV, [record("t.py::test_w", 100.0)])
    message = str(info.value)
    assert str(blocker / "x" / TIER / FILENAME) in message and "--influx-baselines" in message
    assert "\n" not in message


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes to read-only folders")
def test_a_read_only_folder_is_a_clear_error(tmp_path):
    folder = tmp_path / TIER
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(BaselineSaveError, match="--influx-baselines"):
            save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 100.0)])
        assert leftovers(folder) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_no_temp_and_the_old_baseline_whole(tmp_path, monkeypatch,
                                                                  failing):
    path, _ = save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 100.0)])
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, failing, full_disk)
    with pytest.raises(BaselineSaveError, match="No space left on device"):
        save_baseline(tmp_path, TIER, ENV, [record("t.py::test_w", 999.0)])
    monkeypatch.undo()
    assert leftovers(path.parent) == [] and path.read_bytes() == before


def test_the_session_records_a_failed_save(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    session = BenchSession(BenchSettings(baselines_dir=blocker / "x", tier=TIER,
                                         save_baseline=True), environment_provider=dict)
    recorder = session.new_recorder("t.py::test_w", "test_w", None, {})
    recorder.metric("write points/s", 100.0, unit="points/s", direction="higher")
    session.finish_test(recorder)
    session.finish_session()
    assert len(session.failures) == 1 and str(blocker / "x") in session.failures[0]
    assert [n for n in session.notes if n.startswith("ERROR")] == [f"ERROR: {session.failures[0]}"]


ACCEPTANCE = '''
import pytest


@pytest.mark.influx_bench(group="store")
def test_w(influx_bench):
    influx_bench.metric("write points/s", 100.0, unit="points/s", direction="higher")
'''

NO_SERVER = '''
import pytest


@pytest.fixture(scope="session")
def influxdb():
    return object()  # the benchmark records a figure of its own; no server needed
'''


def test_a_failed_save_fails_the_pytest_run(pytester):
    pytester.makepyfile(test_store=ACCEPTANCE)
    pytester.makeconftest(NO_SERVER)
    (pytester.path / "blocker").write_text("")
    args = ("-p", "no:cacheprovider", "--influx-bench", "--influx-save-baseline",
            "--influx-tier", TIER)
    failed = pytester.runpytest(*args, "--influx-baselines", "blocker/x")
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    errors = [line for line in failed.outlines if "could not save the baseline" in line]
    assert len(errors) == 1 and "blocker/x" in errors[0] and "--influx-baselines" in errors[0]
    assert "Traceback" not in failed.stdout.str() + failed.stderr.str()
    failed.assert_outcomes(passed=1)

    saved = pytester.runpytest(*args, "--influx-baselines", "baselines")
    assert saved.ret == pytest.ExitCode.OK
    assert (pytester.path / "baselines" / TIER / FILENAME).exists()
