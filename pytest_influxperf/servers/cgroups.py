"""CPU and memory caps for a child process, the way ``docker --cpus/--memory`` sets them.

A CFS quota gives a process ``cpus`` CPU-seconds per second (0.5 is half a core), which
pinning to whole cores cannot express. Linux cgroups v1 (``/sys/fs/cgroup/cpu``) and v2
(``cpu.max``) are both handled; where neither is writable (not root, no controller), the
caller falls back to what it can do and says so.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


class CgroupLimit:
    """A cgroup made for one process; :meth:`remove` deletes it once the process is gone."""

    def __init__(self, name: str, root: Path = CGROUP_ROOT) -> None:
        self.name = name
        self.root = root
        self.folders: list[Path] = []

    @property
    def v2(self) -> bool:
        return (self.root / "cgroup.controllers").exists()

    def apply(self, pid: int, *, cpus: float | None, memory_bytes: int | None) -> list[str]:
        """Cap ``pid``; returns what was applied (e.g. ``["cpu quota 0.5"]``).

        Raises ``OSError`` when the cgroup file system is not writable here.
        """
        applied = []
        if cpus is not None:
            quota = max(1000, int(cpus * PERIOD_US))
            if self.v2:
                folder = self._make(self.root)
                (folder / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            else:
                folder = self._make(self.root / "cpu")
                (folder / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (folder / "cpu.cfs_quota_us").write_text(str(quota))
            (folder / "cgroup.procs").write_text(str(pid))
            applied.append(f"cpu quota {cpus:g}")
        if memory_bytes is not None:
            if self.v2:
                folder = self._make(self.root)
                (folder / "memory.max").write_text(str(memory_bytes))
            else:
                folder = self._make(self.root / "memory")
                (folder / "memory.limit_in_bytes").write_text(str(memory_bytes))
            (folder / "cgroup.procs").write_text(str(pid))
            applied.append(f"memory {memory_bytes / 2**20:.0f} MiB")
        return applied

    def _make(self, hierarchy: Path) -> Path:
        folder = hierarchy / self.name
        if folder not in self.folders:
            folder.mkdir(exist_ok=True)
            self.folders.append(folder)
        return folder

    def remove(self) -> None:
        """Delete the cgroups (the kernel refuses while a process is still in them)."""
        for folder in reversed(self.folders):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.folders.clear()


def cgroups_writable(root: Path = CGROUP_ROOT) -> bool:
    """Whether this process may create cgroups for a CPU quota."""
    target = root if (root / "cgroup.controllers").exists() else root / "cpu"
    return target.is_dir() and os.access(target, os.W_OK)
