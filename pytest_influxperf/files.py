"""Files the plugin writes for people and for CI (baselines, reports): written atomically.

A reader (a CI step, ``influxperf compare``, a second save) must never see half a file, and
two writers must never share one temporary name: each write goes through a unique temporary
file in the target's folder and ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a unique temporary file in the same folder.

    A unique name, so that two writers never share one; the same folder, so that
    ``os.replace`` is a rename within one file system; fsync first, so that a crash after
    the rename cannot leave an empty file. On any failure the temporary file goes, and a
    reader sees the old file or the new one, never half of one. A new file gets mode 0644
    (baselines and reports are shared data), a replaced one keeps its mode.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp makes the file private (0600); baselines and reports are shared data.
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
