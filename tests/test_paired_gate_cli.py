"""``influxperf gate`` end to end: a small git repository whose benchmark's figure lives in a
committed file, so each revision's own code decides what the runs measure. Every run starts
a real influxd through the process provider."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.timeout(600)

BENCH = '''
import json, pathlib, random, time
import pytest

SETTINGS = json.loads((pathlib.Path(__file__).parent / "settings.json").read_text())

@pytest.mark.influx_bench(group="gate")
def test_speed(influx_bench, request):
    jitter = 1 + random.uniform(-0.01, 0.01)  # a little noise, as real runs have
    # A seed other than the default stands for "another server" in the comparison test.
    slower = 0.8 if request.config.getoption("--influx-seed") not in (None, 42) else 1.0
    influx_bench.metric("work points/s", SETTINGS["rate"] * jitter * slower, unit="points/s",
                        direction="higher")
    influx_bench.metric("steady points/s", 500.0 * jitter, unit="points/s", direction="higher")

def test_functional():
    time.sleep(SETTINGS.get("sleep", 0))  # a run still going when the gate is interrupted
    assert SETTINGS.get("works", True), "the head broke this"
'''


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_settings(repo: Path, message: str, **settings: object) -> str:
    (repo / "bench" / "settings.json").write_text(json.dumps(settings))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a README-only first commit (no suite) and a suite at 1,000 points/s."""
    root = tmp_path / "project"
    (root / "bench").mkdir(parents=True)
    git(root, "init", "-q")
    git(root, "config", "user.email", "gate@test")
    git(root, "config", "user.name", "gate test")
    (root / "README").write_text("no suite yet\n")
    (root / "pytest.ini").write_text("[pytest]\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "no suite")
    git(root, "tag", "no-suite")
    (root / "bench" / "test_speed.py").write_text(BENCH)
    commit_settings(root, "suite at 1000", rate=1000.0)
    git(root, "tag", "fast")
    return root


def gate(repo: Path, *args: str, pytest_args: tuple[str, ...] = ("bench",),
         timeout: float = 400) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_influxperf.cli", "gate", *args, "--",
               *pytest_args, "--influx-bench", "--influx-provider", "process"]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=timeout,
                          check=False)


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")]


def influxd_running() -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "influxd"}


def test_the_base_runs_its_own_code_and_a_slower_head_fails(repo: Path, tmp_path: Path) -> None:
    # The head is the working tree with an uncommitted change: 800 points/s instead of 1000.
    (repo / "bench" / "settings.json").write_text(json.dumps({"rate": 800.0}))
    report = tmp_path / "gate.json"
    done = gate(repo, "--base", "fast", "--pairs", "4", "--report", str(report),
                "--report", str(tmp_path / "gate.md"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "uncommitted changes in 1 file(s) (bench/settings.json)" in done.stderr
    data = json.loads(report.read_text())
    work = next(m for m in data["metrics"] if m["metric"] == "work points/s")
    steady = next(m for m in data["metrics"] if m["metric"] == "steady points/s")
    assert work["status"] == "regression"
    assert 900 < work["base"] < 1100 and 720 < work["head"] < 880  # each side's own file
    assert work["change"] == pytest.approx(-0.2, abs=0.03)
    assert steady["status"] == "pass"
    assert "gate FAILED over 4 pairs: 2 regression(s)" in done.stdout  # metric + index
    assert "❌" in (tmp_path / "gate.md").read_text()
    assert len(worktrees(repo)) == 1  # the base's worktree is gone


def test_same_revision_on_both_sides_passes_and_cleans_up(repo: Path) -> None:
    done = gate(repo, "--base", "fast", "--head", "fast", "--pairs", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gate passed over 2 pairs" in done.stdout
    assert "uncommitted" not in done.stderr  # --head names a revision: the tree is not used
    assert len(worktrees(repo)) == 1


def test_head_arg_compares_two_configurations_of_one_revision(repo: Path,
                                                             tmp_path: Path) -> None:
    report = tmp_path / "gate.json"
    done = gate(repo, "--base", "fast", "--head", "fast", "--pairs", "4",
                "--head-arg=--influx-seed=7", "--report", str(report))
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(report.read_text())
    assert data["head"].endswith("[--influx-seed=7]")
    work = next(m for m in data["metrics"] if m["metric"] == "work points/s")
    assert work["status"] == "regression"
    assert work["change"] == pytest.approx(-0.2, abs=0.03)


def test_a_test_broken_by_the_head_fails_the_gate(repo: Path) -> None:
    commit_settings(repo, "breaks the functional test", rate=1000.0, works=False)
    done = gate(repo, "--base", "fast", "--pairs", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "broken by head: bench.test_speed::test_functional (failed in 0/2 base, 2/2 head" \
        in done.stdout
    assert "1 test(s) broken by the head" in done.stdout


def test_unknown_revision_is_one_line_and_exit_2(repo: Path) -> None:
    done = gate(repo, "--base", "no-such-branch")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        ("influxperf gate: unknown revision 'no-such-branch': name a branch, tag or commit of "
        "this repository (in CI, fetch enough history, e.g. fetch-depth: 0)")]
    assert len(worktrees(repo)) == 1


def test_a_base_without_the_suite_cannot_run_the_gate(repo: Path) -> None:
    done = gate(repo, "--base", "no-suite", "--pairs", "2")
    assert done.returncode == 2, done.stdout + done.stderr
    first = done.stderr.strip().splitlines()
    reason = next(line for line in first if line.startswith("influxperf gate:"))
    assert "the base run 1 (no-suite) could not run (pytest exit code 4)" in reason
    assert "file or directory not found: bench" in done.stderr  # pytest's own last lines
    assert "Traceback" not in done.stderr
    assert len(worktrees(repo)) == 1


def test_a_base_that_collects_nothing_cannot_run_the_gate(repo: Path) -> None:
    (repo / "bench" / "test_speed.py").write_text("# emptied\n")
    git(repo, "commit", "-qam", "no tests")
    git(repo, "tag", "empty")
    git(repo, "checkout", "-q", "fast")
    done = gate(repo, "--base", "empty", "--pairs", "2")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the base (empty) collected no tests" in done.stderr


def test_ctrl_c_stops_the_runs_and_removes_worktree_and_servers(repo: Path) -> None:
    # Every run sleeps 60 s after its server is up: the interrupt lands mid-run, however
    # fast or loaded the machine is.
    commit_settings(repo, "slow runs", rate=1000.0, sleep=60)
    before = influxd_running()
    command = [sys.executable, "-m", "pytest_influxperf.cli", "gate", "--base", "HEAD",
               "--pairs", "4", "--", "bench", "--influx-bench", "--influx-provider", "process"]
    proc = subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    # Wait until a run's server is up: an influxd that was not there before.
    while time.monotonic() < deadline and not (influxd_running() - before):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    assert influxd_running() - before, "no run started a server"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, out + err
    assert "interrupted" in err and "Traceback" not in err
    assert len(worktrees(repo)) == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and influxd_running() - before:
        time.sleep(0.2)
    assert influxd_running() - before == set()


def test_two_gates_at_once_in_one_repository(repo: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytest_influxperf.cli", "gate", "--base", "fast",
               "--head", "fast", "--pairs", "2"]
    procs = []
    for i in range(2):
        procs.append(subprocess.Popen(
            [*command, "--keep-runs", str(tmp_path / f"runs{i}"), "--", "bench",
             "--influx-bench", "--influx-provider", "process"],
            cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=400) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    # Each gate ran its own four runs, in worktrees of its own.
    for i in range(2):
        assert len(list((tmp_path / f"runs{i}").glob("run-*.json"))) == 4
    assert len(worktrees(repo)) == 1


def test_bad_options_are_usage_errors(repo: Path) -> None:
    for args in (["--pairs", "1"], ["--threshold", "-5%"], ["--report", "x.txt"]):
        done = subprocess.run([sys.executable, "-m", "pytest_influxperf.cli", "gate",
                               "--base", "fast", *args], cwd=repo, capture_output=True,
                              text=True, timeout=60, env={**os.environ}, check=False)
        assert done.returncode == 2, args
        assert done.stderr.strip().splitlines()[-1].startswith("usage:") is False
        assert "influxperf gate: error: argument" in done.stderr
