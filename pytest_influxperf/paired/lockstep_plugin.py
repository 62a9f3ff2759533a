"""Lock-step for a pair of runs: base and head take turns test by test (a pytest plugin).

On a shared machine the speed moves on a scale of tens of seconds (other jobs come and
go). Two whole runs one after the other are 25 s apart at smoke scale, so each pair still
carries that drift; measured here, it was most of the noise of the run's throughput index.
When the two runs of a pair run side by side and take turns test by test, the two
measurements of one test are seconds apart, and the drift hits both alike.

The gate copies this file into its run folder and loads it into both runs with
``-p influxperf_gate_turns``: it must import nothing of pytest_influxperf, because the
base may be an older revision of a project whose package does not have it.

Protocol: a small file names whose turn it is (``base`` or ``head``). A run waits for its
turn before each test and hands the turn over after it. A run that finished (or died: the
gate writes the marker when a process exits) leaves ``<file>.<side>.done``, after which the
other goes on alone. A run that waits longer than the timeout goes on alone too and says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from pathlib import Path

import pytest

ENV_FILE = "INFLUXPERF_TURN_FILE"
ENV_ME = "INFLUXPERF_TURN_ME"
ENV_PEER = "INFLUXPERF_TURN_PEER"
ENV_TIMEOUT = "INFLUXPERF_TURN_TIMEOUT"
POLL_S = 0.002


def done_marker(turn_file: Path, side: str) -> Path:
    return turn_file.with_name(f"{turn_file.name}.{side}.done")


def whose_turn(turn_file: Path) -> str:
    try:
        return turn_file.read_text().strip()
    except OSError:
        return ""


def hand_over(turn_file: Path, side: str) -> None:
    """Give the turn to ``side`` (written whole: a reader never sees half a name)."""
    tmp = turn_file.with_name(f"{turn_file.name}.{os.getpid()}.tmp")
    tmp.write_text(side)
    os.replace(tmp, turn_file)


class Turns:
    """One run's side of the lock-step."""

    def __init__(self, turn_file: Path, me: str, peer: str, timeout: float) -> None:
        self.turn_file, self.me, self.peer, self.timeout = turn_file, me, peer, timeout
        self.alone = False

    def wait(self) -> None:
        if self.alone:
            return
        deadline = time.monotonic() + self.timeout
        while whose_turn(self.turn_file) != self.me:
            if done_marker(self.turn_file, self.peer).exists():
                self.alone = True
                return
            if time.monotonic() > deadline:
                self.alone = True
                print(f"\ninfluxperf gate: the {self.peer} run did not hand over its turn "
                      f"within {self.timeout:.0f} s; the {self.me} run goes on alone")
                return
            time.sleep(POLL_S)

    def release(self) -> None:
        if not self.alone:
            hand_over(self.turn_file, self.peer)

    def finish(self) -> None:
        done_marker(self.turn_file, self.me).touch()
        self.release()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item,
                                nextitem: pytest.Item | None) -> Generator[None, None, None]:
        self.wait()
        try:
            yield
        finally:
            self.release()

    def pytest_sessionfinish(self) -> None:
        self.finish()


def pytest_configure(config: pytest.Config) -> None:
    turn_file = os.environ.get(ENV_FILE)
    if not turn_file:
        return
    turns = Turns(Path(turn_file), os.environ[ENV_ME], os.environ[ENV_PEER],
                  float(os.environ.get(ENV_TIMEOUT, "900")))
    config.pluginmanager.register(turns, "influxperf-gate-turns")
