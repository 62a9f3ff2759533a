"""``influxperf gate --base REV [--head REV] [--pairs N] [--threshold PCT] [-- PYTEST_ARGS]``.

Base and head measured in one job, alternately, each run on a fresh server, judged by
paired statistics (:mod:`.judge`). Exit 0 pass, 1 regression or a test broken by the head,
2 the gate could not run (the reason on one line, then the failing run's last lines).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import InfluxPerfError
from . import git
from .judge import GateSettings, judge
from .report import plot, terminal_lines, write
from .runner import (
    DEFAULT_SCALE,
    ORDERS,
    GateRunError,
    Side,
    run_pairs,
    with_default_scale,
)

#: Pairs by default: a smoke-scale gate of the whole suite in about 4-5 minutes on 2 cores
#: (a run takes about 25 s there); see README for how pairs, time and sensitivity trade.
DEFAULT_PAIRS = 5
REPORT_SUFFIXES = (".json", ".md", ".csv")


def parse_fraction(text: str) -> float:
    """``5%`` or ``0.05`` -> 0.05 (argparse type: a clear error otherwise)."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a percentage (write 5% or 0.05)") from None
    if not raw.endswith("%") and value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: write a percentage as 5% or a fraction "
                                         "as 0.05")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must lie between 0% and 100%")
    return value


def parse_pairs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of pairs") from None
    if not 2 <= value <= 200:
        raise argparse.ArgumentTypeError(f"pairs must be 2 to 200 (the paired test needs two "
                                         f"pairs to see noise), not {value}")
    return value


def parse_report(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise argparse.ArgumentTypeError(f"report {text!r}: use a .json, .md or .csv name")
    return path


def parse_alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a significance level") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"alpha lies in (0, 0.5), such as 0.01, not {text}")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "gate", help="base and head measured in one job, alternately, judged by paired "
        "statistics", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Everything after -- goes to pytest (default: suites --influx-bench, at "
               f"--influx-scale {DEFAULT_SCALE} unless a scale is given).\nExample: "
               "influxperf gate --base origin/main --report gate.md -- suites --influx-bench")
    p.add_argument("--base", required=True, metavar="REV", help="the revision to compare with")
    p.add_argument("--head", metavar="REV",
                   help="the revision to gate (default: the current checkout, as it is)")
    p.add_argument("--pairs", type=parse_pairs, default=DEFAULT_PAIRS, metavar="N",
                   help=f"base/head pairs, run A B, B A, ... (default {DEFAULT_PAIRS})")
    p.add_argument("--order", choices=ORDERS, default="tests",
                   help="tests: each pair's runs side by side, taking turns test by test "
                   "(default); runs: whole runs one after the other, A B, B A, ...")
    p.add_argument("--threshold", type=parse_fraction, default=0.05, metavar="PCT",
                   help="smallest change that fails the gate (default 5%%)")
    p.add_argument("--alpha", type=parse_alpha, default=0.01,
                   help="significance after the family-wise adjustment (default 0.01)")
    p.add_argument("--index-alpha", type=parse_alpha, default=0.05,
                   help="significance of the run's throughput index, one test (default 0.05)")
    p.add_argument("--no-moderate", dest="moderate", action="store_false",
                   help="plain t-tests per metric, without the family's variance")
    p.add_argument("--adjust", choices=("bh", "holm"), default="bh",
                   help="family control over metrics: Benjamini-Hochberg (default) or Holm")
    p.add_argument("--base-arg", action="append", default=[], metavar="ARG",
                   help="a pytest argument for the base runs only (repeatable; write "
                   "--base-arg=--influx-binary=/opt/old/influxd)")
    p.add_argument("--head-arg", action="append", default=[], metavar="ARG",
                   help="a pytest argument for the head runs only: with --base HEAD --head "
                   "HEAD the gate compares two servers (image, binary, tier) in one job")
    p.add_argument("--report", type=parse_report, action="append", default=[], metavar="PATH",
                   help="write the verdict (.json, .md, .csv by extension; repeatable)")
    p.add_argument("--plots", type=Path, metavar="DIR", help="write a PNG of the changes")
    p.add_argument("--keep-runs", type=Path, metavar="DIR",
                   help="keep each run's report, JUnit file and log in DIR")
    p.add_argument("--run-timeout", type=float, default=1800, metavar="S",
                   help="stop a run that takes longer (default 1800 s)")
    p.add_argument("--all", action="store_true", help="show every metric in the table")
    p.add_argument("pytest_args", nargs="*", metavar="PYTEST_ARGS",
                   help="after --: the pytest selection and options")


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A CI runner cancels a job with SIGTERM: clean up as on Ctrl-C."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test's thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(line: str) -> None:
    print(f"gate: {line}", file=sys.stderr, flush=True)


def gate(args: argparse.Namespace) -> int:
    """Run the gate; return its exit code (see the module docstring)."""
    started = time.monotonic()
    cwd = Path.cwd()
    root = git.repo_root(cwd)
    relative = cwd.resolve().relative_to(root.resolve())
    base_commit = git.resolve(root, args.base)
    head_commit = git.resolve(root, args.head) if args.head else git.head_commit(root)
    selection = with_default_scale(args.pytest_args)
    notes: list[str] = []
    settings = GateSettings(threshold=args.threshold, alpha=args.alpha,
                            index_alpha=args.index_alpha, adjustment=args.adjust,
                            moderate=args.moderate)
    with ExitStack() as stack, _sigterm_as_interrupt():
        out_dir = _runs_folder(stack, args.keep_runs)
        base_root = stack.enter_context(git.worktree(root, base_commit, label="base"))
        if args.head:
            head_root = stack.enter_context(git.worktree(root, str(head_commit), label="head"))
            head_label = args.head
        else:
            head_root, head_label = root, "working tree"
            dirty = git.dirty_files(root)
            if dirty:
                notes.append(f"the head has uncommitted changes in {len(dirty)} file(s) "
                             f"({', '.join(dirty[:3])}{', ...' if len(dirty) > 3 else ''}): "
                             "gated as it is on disk")
        base = Side("base", base_root, base_root / relative, args.base, base_commit,
                    tuple(args.base_arg))
        head = Side("head", head_root, head_root / relative, head_label, head_commit,
                    tuple(args.head_arg))
        for note in notes:
            _say(note)
        _say(f"{args.pairs} pairs ({args.order} interleaved) of "
             f"`pytest {' '.join(selection)}`: base {_rev_label(args.base, base_commit)} "
             f"vs head {_rev_label(head_label, head_commit)}")
        try:
            pairs = run_pairs(base, head, selection, args.pairs, out_dir, order=args.order,
                              timeout=args.run_timeout, progress=_say)
        except KeyboardInterrupt:
            _say("interrupted: runs stopped, worktrees removed")
            raise
    verdict = judge(pairs, settings)
    header = {"base": _rev_label(args.base, base_commit) + _args_label(args.base_arg),
              "head": _rev_label(head_label, head_commit) + _args_label(args.head_arg),
              "selection": selection, "notes": notes,
              "wall_time_s": round(time.monotonic() - started, 1)}
    print("\n".join(terminal_lines(verdict, header, show_all=args.all)))
    for path in write(verdict, header, args.report):
        _say(f"report written: {path}")
    if args.plots:
        _say(f"chart written: {plot(verdict, args.plots)}")
    _say(f"done in {header['wall_time_s']:.0f} s")
    return verdict.exit_code


def _rev_label(rev: str, commit: str | None) -> str:
    """``main (1a2b3c4d5e)``, or just the short id when the revision is a commit id."""
    if commit is None:
        return rev
    return commit[:10] if commit.startswith(rev) else f"{rev} ({commit[:10]})"


def _args_label(extra: list[str]) -> str:
    return f" [{' '.join(extra)}]" if extra else ""


def _runs_folder(stack: ExitStack, keep: Path | None) -> Path:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return keep.resolve()
    folder = Path(tempfile.mkdtemp(prefix="influxperf-gate-runs-"))
    stack.callback(shutil.rmtree, folder, True)
    return folder


def run(args: argparse.Namespace) -> int:
    """:func:`gate` with the gate's known failures as one line and exit 2."""
    try:
        return gate(args)
    except (GateRunError, git.GitError) as exc:
        print(f"influxperf gate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("influxperf gate: interrupted; no verdict", file=sys.stderr)
        return 2
    except InfluxPerfError as exc:
        print(f"influxperf gate: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"influxperf gate: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2
