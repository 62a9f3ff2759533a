"""Disk cache of rendered series: a repeated run does not pay for generation twice.

One file per (shape, parameters, seed), named by a hash of them. The file holds a fixed
header (magic, format version, sizes, CRC-32 of everything after the header), a small JSON
block of metadata, the end offset of every line and the line-protocol bytes. An entry whose
magic, version, sizes or checksum do not match is reported as absent, so the caller
rebuilds it: a corrupt or older entry is never trusted. Writes go to a temporary file that
is renamed into place, so a run killed mid-write leaves no half entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Bump FORMAT_VERSION when the file layout changes and GENERATOR_VERSION when any shape
# would generate different data for the same parameters.
FORMAT_VERSION = 1
GENERATOR_VERSION = 2
MAGIC = b"IPXSERIE"
_HEADER = struct.Struct("<8sIIQQQI")  # magic, format, generator, lines, payload bytes, meta bytes, crc


@dataclass
class Entry:
    """A loaded entry: line ends, payload bytes, metadata."""

    ends: np.ndarray
    payload: np.ndarray
    meta: dict[str, Any]


def cache_key(params: dict[str, Any]) -> str:
    """A stable file name for normalized parameters (JSON-able values only)."""
    text = json.dumps({"format": FORMAT_VERSION, "generator": GENERATOR_VERSION, **params},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _crc(*parts: bytes | memoryview) -> int:
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    return crc


def load(path: Path) -> Entry | None:
    """The entry at ``path``, or ``None`` when it is missing, corrupt or from another version."""
    try:
        # Copy-on-write map: no copy of the file into memory; a later in-place edit
        # (align_now rewrites timestamps) touches private pages, never the file.
        raw = np.memmap(path, dtype=np.uint8, mode="c")
    except (FileNotFoundError, OSError, ValueError):
        return None
    if raw.shape[0] < _HEADER.size:
        return None
    magic, fmt, gen, lines, nbytes, meta_len, crc = _HEADER.unpack(raw[:_HEADER.size].tobytes())
    if magic != MAGIC or fmt != FORMAT_VERSION or gen != GENERATOR_VERSION:
        return None
    body = raw[_HEADER.size:]
    if body.shape[0] != meta_len + 8 * lines + nbytes:
        return None
    if _crc(memoryview(body)) != crc:
        return None
    try:
        meta = json.loads(body[:meta_len].tobytes())
    except ValueError:
        return None
    ends = body[meta_len:meta_len + 8 * lines].view(np.int64)
    payload = body[meta_len + 8 * lines:]
    if lines and (int(ends[-1]) != nbytes or payload[-1] != 10):
        return None
    return Entry(ends, payload, meta)


def store(path: Path, ends: np.ndarray, payload: np.ndarray, meta: dict[str, Any]) -> None:
    """Write an entry atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta_bytes = json.dumps(meta, sort_keys=True).encode()
    ends_bytes = np.ascontiguousarray(ends, dtype=np.int64).data
    payload_bytes = np.ascontiguousarray(payload, dtype=np.uint8).data
    crc = _crc(meta_bytes, ends_bytes, payload_bytes)
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, GENERATOR_VERSION, ends.shape[0], payload.shape[0],
                          len(meta_bytes), crc)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in (header, meta_bytes, ends_bytes, payload_bytes):
                fh.write(part)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def touch(path: Path) -> None:
    """Mark an entry as used now, so that :func:`evict` keeps it longest."""
    try:
        os.utime(path)
    except OSError:
        pass


def evict(folder: Path, max_bytes: int) -> list[Path]:
    """Delete least recently used entries until the folder holds at most ``max_bytes``."""
    entries = []
    for path in folder.glob("*.lp"):
        try:
            st = path.stat()
        except OSError:
            continue
        entries.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    removed = []
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        _unlink_quietly(str(path))
        total -= size
        removed.append(path)
    return removed


def _unlink_quietly(path: str) -> None:
    """Remove a temporary file, ignoring that it may already be gone."""
    try:
        os.unlink(path)
    except OSError:
        pass
