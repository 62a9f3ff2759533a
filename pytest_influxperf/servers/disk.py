"""Bytes a server's files take on disk, counted the same way by every provider."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def bytes_on_disk(folder: str | os.PathLike[str], pattern: str = "*") -> int:
    """Bytes really used under ``folder`` by files matching ``pattern`` (0 if it is missing).

    Each file counts its length, but never more than its allocated blocks: influxd 1.x
    pre-sizes its series-index segments as sparse 4 MiB files, and counting their length
    would add ~32 MiB of nothing to every database.
    """
    total = 0
    for path in Path(folder).rglob(pattern):
        with contextlib.suppress(OSError):
            stat = path.lstat()
            if path.is_file() and not path.is_symlink():
                total += min(stat.st_size, stat.st_blocks * 512)
    return total


def file_bytes(folder: str | os.PathLike[str], pattern: str = "*") -> int:
    """Sum of the lengths of the files under ``folder`` matching ``pattern``."""
    total = 0
    for path in Path(folder).rglob(pattern):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                total += path.lstat().st_size
    return total
