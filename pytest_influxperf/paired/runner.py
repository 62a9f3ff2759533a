"""Run the pytest selection on base and head, alternately, one fresh pytest per run.

Each run is its own ``python -m pytest`` in the side's checkout, so it starts its own
server from whatever provider options the arguments give, and writes its own JSON report
and JUnit file. The side's code is what runs: the working directory is the side's
checkout (its tests and conftests), and its root and ``src/`` are put ahead of everything
else on ``PYTHONPATH`` (so its importable code shadows an editable install of the head).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from ..errors import InfluxPerfError
from . import lockstep_plugin
from .runs import RunResult, read_metrics, read_outcomes
from .stats import drift_cancelling_order

#: What the gate runs when nothing follows ``--``.
DEFAULT_SELECTION = ("suites", "--influx-bench")
DEFAULT_SCALE = "smoke"

#: pytest's exit codes: 0 all passed, 1 some failed; anything else means no real run.
_RAN = (0, 1)
_NO_TESTS = 5


class GateRunError(InfluxPerfError):
    """A run that could not produce figures; the message names the side and its last lines."""


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of the gate: where its checkout is and what it is."""

    name: str  # "base" or "head"
    root: Path  # the checkout's top folder
    workdir: Path  # where pytest runs (the user's folder, mapped into the checkout)
    label: str  # the revision as the user named it
    commit: str | None
    #: pytest arguments for this side only (``--head-arg``): a server comparison in one job
    extra_args: tuple[str, ...] = ()


def pytest_command(selection: Sequence[str], report: Path, junit: Path) -> list[str]:
    """The pytest command of one run: the selection, then the gate's own outputs.

    ``--influx-compare off``: the gate judges pairs, not stored baselines.
    """
    return [sys.executable, "-m", "pytest", *selection, "-p", "no:cacheprovider",
            "--influx-compare", "off", "--influx-report", str(report),
            f"--junitxml={junit}"]


def with_default_scale(args: Sequence[str], scale: str = DEFAULT_SCALE) -> list[str]:
    """``args``, or the default selection when empty, at ``scale`` unless they name one."""
    chosen = list(args) or list(DEFAULT_SELECTION)
    if not any(a == "--influx-scale" or a.startswith("--influx-scale=") for a in chosen):
        chosen += ["--influx-scale", scale]
    return chosen


def side_environment(side: Side, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a run: the side's root and ``src/`` first on ``PYTHONPATH``."""
    env = dict(os.environ if environ is None else environ)
    paths = [str(side.root)]
    if (side.root / "src").is_dir():
        paths.append(str(side.root / "src"))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log, indented for an error message."""
    try:
        text = path.read_text(errors="replace").rstrip().splitlines()[-lines:]
    except OSError:
        return "    (no output)"
    return "\n".join(f"    {line}" for line in text) or "    (no output)"


Progress = Callable[[str], None]
Order = Literal["tests", "runs"]
ORDERS: tuple[Order, ...] = ("tests", "runs")

#: The lock-step plugin, as the module name both runs load it under (see lockstep_plugin).
LOCKSTEP_MODULE = "influxperf_gate_turns"


@dataclasses.dataclass
class Run:
    """A started pytest run: its process and the files it writes."""

    side: Side
    index: int
    proc: subprocess.Popen[bytes]
    report: Path
    junit: Path
    log: Path
    selection: Sequence[str]


def start_run(side: Side, index: int, selection: Sequence[str], out_dir: Path, *,
              extra: Sequence[str] = (), environ: dict[str, str] | None = None) -> Run:
    """Start one pytest run of ``side`` (``extra``: more pytest arguments)."""
    stem = out_dir / f"run-{index:02d}-{side.name}"
    report, junit, log = (stem.with_suffix(".json"), stem.with_suffix(".xml"),
                          stem.with_suffix(".log"))
    command = [*pytest_command([*selection, *side.extra_args], report, junit), *extra]
    with open(log, "w", encoding="utf-8") as out:
        # A session of its own: Ctrl-C in the terminal reaches the gate alone, which then
        # stops the run once, cleanly (a second SIGINT would cut pytest's server tear-down).
        proc = subprocess.Popen(command, cwd=side.workdir,
                                env=side_environment(side, environ), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    return Run(side, index, proc, report, junit, log, selection)


def finish_run(run: Run) -> RunResult:
    """A run that exited: its figures and test outcomes, or :class:`GateRunError`."""
    code = run.proc.wait()
    side = run.side
    if code == _NO_TESTS:
        raise GateRunError(f"the {side.name} ({side.label}) collected no tests with "
                           f"`{' '.join(run.selection)}`: does the suite exist there?\n"
                           f"{tail(run.log)}")
    if code not in _RAN or not run.report.exists():
        raise GateRunError(f"the {side.name} run {run.index} ({side.label}) could not run "
                           f"(pytest exit code {code}); last lines of {run.log}:\n"
                           f"{tail(run.log)}")
    return RunResult(side.name, run.index, read_metrics(run.report),
                     read_outcomes(run.junit) if run.junit.exists() else {}, code)


def wait_all(runs: Sequence[Run], timeout: float,
             on_exit: Callable[[Run], None] | None = None) -> None:
    """Wait for every run; ``on_exit`` is called as each one ends. Past ``timeout`` (or on
    Ctrl-C) every run still going is stopped, and the error says which."""
    deadline = time.monotonic() + timeout
    going = list(runs)
    try:
        while going:
            for run in list(going):
                if run.proc.poll() is not None:
                    going.remove(run)
                    if on_exit is not None:
                        on_exit(run)
            if going and time.monotonic() > deadline:
                late = going[0]
                raise GateRunError(f"the {late.side.name} run {late.index} ({late.side.label})"
                                   f" took longer than {timeout:.0f} s and was stopped; last "
                                   f"lines of {late.log}:\n{tail(late.log)}")
            time.sleep(0.05)
    finally:
        for run in going:
            stop(run.proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a run as Ctrl-C would (its servers torn down), then for good after 60 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def run_once(side: Side, index: int, selection: Sequence[str], out_dir: Path, *,
             timeout: float) -> RunResult:
    """One pytest run of ``side`` on its own."""
    run = start_run(side, index, selection, out_dir)
    wait_all([run], timeout)
    return finish_run(run)


def run_lockstep_pair(base: Side, head: Side, pair: int, first: str,
                      selection: Sequence[str], out_dir: Path, *,
                      timeout: float) -> tuple[RunResult, RunResult]:
    """Base and head side by side, taking turns test by test, ``first`` starting."""
    plugin = out_dir / f"{LOCKSTEP_MODULE}.py"
    if not plugin.exists():
        shutil.copyfile(Path(__file__).with_name("lockstep_plugin.py"), plugin)
    turn_file = out_dir / f"pair-{pair + 1:02d}.turn"
    lockstep_plugin.hand_over(turn_file, first)
    runs = []
    for side, peer in ((base, head), (head, base)):
        environ = dict(os.environ)
        environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(out_dir), environ.get("PYTHONPATH", "")) if p)
        environ.update({lockstep_plugin.ENV_FILE: str(turn_file),
                        lockstep_plugin.ENV_ME: side.name,
                        lockstep_plugin.ENV_PEER: peer.name,
                        lockstep_plugin.ENV_TIMEOUT: str(min(timeout, 900))})
        runs.append(start_run(side, pair + 1, selection, out_dir,
                              extra=["-p", LOCKSTEP_MODULE], environ=environ))

    def mark_done(run: Run) -> None:
        # A run that died never wrote its marker: the other must not wait for it.
        lockstep_plugin.done_marker(turn_file, run.side.name).touch()
        lockstep_plugin.hand_over(turn_file, "head" if run.side.name == "base" else "base")

    wait_all(runs, timeout, on_exit=mark_done)
    return finish_run(runs[0]), finish_run(runs[1])


def run_pairs(base: Side, head: Side, selection: Sequence[str], pairs: int, out_dir: Path, *,
              order: Order = "tests", timeout: float = 1800,
              progress: Progress | None = None) -> list[tuple[RunResult, RunResult]]:
    """Run ``pairs`` pairs; return (base, head) per pair.

    ``order="tests"``: each pair's two runs side by side, in lock-step test by test, the
    side that starts alternating from pair to pair. ``order="runs"``: whole runs one after
    the other, A B, B A, ...
    """
    if order not in ORDERS:
        raise ValueError(f"order is one of {ORDERS}, not {order!r}")
    if order == "tests":
        out = []
        for pair in range(pairs):
            first = "base" if pair % 2 == 0 else "head"
            started = time.monotonic()
            result = run_lockstep_pair(base, head, pair, first, selection, out_dir,
                                       timeout=timeout)
            out.append(result)
            if progress is not None:
                progress(f"pair {pair + 1}/{pairs} ({first} first, test by test) "
                         f"{time.monotonic() - started:.0f} s, "
                         f"{len(result[0].metrics)}/{len(result[1].metrics)} metrics"
                         + _failures(result))
        return out
    results: dict[tuple[int, str], RunResult] = {}
    sides = {"base": base, "head": head}
    steps = drift_cancelling_order(pairs)
    for step, (pair, name) in enumerate(steps, start=1):
        started = time.monotonic()
        single = run_once(sides[name], step, selection, out_dir, timeout=timeout)
        results[(pair, name)] = single
        if progress is not None:
            progress(f"run {step}/{len(steps)}: pair {pair + 1} {name} "
                     f"({sides[name].label}) {time.monotonic() - started:.0f} s, "
                     f"{len(single.metrics)} metrics" + _failures((single,)))
    return [(results[(i, "base")], results[(i, "head")]) for i in range(pairs)]


def _failures(results: Sequence[RunResult]) -> str:
    failed = [sum(o == "failed" for o in r.outcomes.values()) for r in results]
    return f", failed tests {'/'.join(map(str, failed))}" if any(failed) else ""
