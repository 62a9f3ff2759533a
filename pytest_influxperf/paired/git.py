"""Git for the gate: resolve revisions, tell a dirty checkout, and lend a revision a worktree.

The base (and the head, when ``--head`` names a revision) is checked out with
``git worktree add --detach`` into a fresh temporary folder: the user's checkout is never
touched, two gates in one repository get folders of their own, and the worktree is removed
(``git worktree remove --force``, then ``prune``) whatever happens, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import InfluxPerfError


class GitError(InfluxPerfError):
    """A revision that does not exist, or a folder that is not a git checkout."""


def _git(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed; the gate checks revisions out with git") from None


def repo_root(cwd: Path) -> Path:
    """The top folder of the checkout ``cwd`` lies in."""
    done = _git(cwd, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise GitError(f"{cwd} is not inside a git checkout: run the gate in your repository")
    return Path(done.stdout.strip())


def resolve(root: Path, rev: str) -> str:
    """The commit id ``rev`` names (a branch, tag, ``HEAD~1``, a SHA)."""
    if not rev or rev.startswith("-"):
        raise GitError(f"{rev!r} is not a revision")
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if done.returncode != 0:
        raise GitError(f"unknown revision {rev!r}: name a branch, tag or commit of this "
                       "repository (in CI, fetch enough history, e.g. fetch-depth: 0)")
    return done.stdout.strip()


def head_commit(root: Path) -> str | None:
    """The commit the checkout stands on (None in a repository without commits)."""
    done = _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    return done.stdout.strip() or None if done.returncode == 0 else None


def dirty_files(root: Path) -> list[str]:
    """Tracked files with uncommitted changes: the head is then gated as it is on disk."""
    done = _git(root, "status", "--porcelain", "--untracked-files=no")
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]


@contextlib.contextmanager
def worktree(root: Path, commit: str, *, label: str) -> Iterator[Path]:
    """Check ``commit`` out into a temporary worktree; remove it on the way out."""
    parent = Path(tempfile.mkdtemp(prefix=f"influxperf-gate-{label}-"))
    path = parent / "checkout"
    done = _git(root, "worktree", "add", "--detach", str(path), commit, timeout=600)
    if done.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise GitError(f"could not check out {label} {commit[:12]}: {last}")
    try:
        yield path
    finally:
        remove_worktree(root, path)
        shutil.rmtree(parent, ignore_errors=True)


def remove_worktree(root: Path, path: Path) -> None:
    """Remove a worktree and git's record of it (a second Ctrl-C cannot stop this)."""
    _git(root, "worktree", "remove", "--force", str(path))
    shutil.rmtree(path, ignore_errors=True)
    _git(root, "worktree", "prune")
