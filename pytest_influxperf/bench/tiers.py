"""Hardware tiers: where a server runs, its fingerprint, and the limits a named tier sets.

A baseline is only meaningful on the hardware it was measured on, so every baseline set
belongs to a tier. ``--influx-tier auto`` derives the name from a fingerprint of the
machine (CPU model and count, memory, server limits, provider) that stays the same from
run to run on one machine: volatile figures (current CPU frequency, load, free memory,
kernel build) are recorded but never part of the name.

Named tiers may carry CPU and memory limits for the docker provider, in
``<baselines>/tiers.json``::

    {"ci-1cpu": {"cpus": 1, "memory": "1g", "description": "the CI runner, one core"}}
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .records import BenchDataError

TIERS_FILE = "tiers.json"

#: The fields that define a tier; the auto name is derived from them and nothing else.
FINGERPRINT_FIELDS = ("provider", "cpu_model", "cpu_count", "memory_gib", "limits_cpus",
                      "limits_memory_bytes")

_SECRET_KEY = re.compile(r"token|secret|password|passwd|credential|auth", re.IGNORECASE)
_TIER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo`` on Linux, ``platform`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _git_commit(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def host_environment(cwd: Path | None = None) -> dict[str, Any]:
    """Facts about this machine and run that a baseline records (no secrets)."""
    import psutil

    from .. import __version__

    total = psutil.virtual_memory().total
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": total,
        # Rounded so that firmware reserving a few MiB more after an update is not a new tier.
        "memory_gib": round(total / 2**30),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "plugin_version": __version__,
        "git_commit": _git_commit(cwd),
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }


def scrub(environment: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``environment`` without any key that may carry a secret."""
    return {k: v for k, v in environment.items() if not _SECRET_KEY.search(str(k))}


def _slug(text: str, limit: int) -> str:
    words = re.sub(r"\(r\)|\(tm\)|cpu|processor|@.*$", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:limit].strip("-") or "cpu"


def auto_tier_name(server_env: Mapping[str, Any]) -> str:
    """A readable, stable tier name from the fingerprint fields of ``server_env``.

    Example: ``process-2cpu-23gib-intel-xeon-platinum-8375c-1f3a9c``. The trailing hash
    covers every fingerprint field, so two machines that differ only in a limit get
    different names.
    """
    fields = {k: server_env.get(k) for k in FINGERPRINT_FIELDS}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
    parts = [str(fields["provider"] or "server"), f"{fields['cpu_count'] or '?'}cpu",
             f"{fields['memory_gib'] or '?'}gib"]
    if fields["limits_cpus"] is not None:
        parts.append(f"lim{fields['limits_cpus']:g}cpu")
    parts.append(_slug(str(fields["cpu_model"] or "cpu"), 28))
    return "-".join(parts + [digest.hexdigest()[:6]])


def check_tier_name(name: str) -> str:
    """Return ``name`` if it is a usable folder name, else raise a clear error."""
    if not _TIER_NAME.match(name) or name in (".", ".."):
        raise BenchDataError(f"tier name {name!r} must be letters, digits, '.', '_' or '-' "
                             "(it is a folder name under the baselines directory)")
    return name


def parse_memory(value: object) -> int:
    """Bytes from ``1073741824``, ``"512m"``, ``"2g"``, ``"1.5GiB"``; clear error otherwise."""
    if isinstance(value, bool):
        raise BenchDataError(f"memory limit {value!r} is not a size")
    if isinstance(value, (int, float)):
        return int(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(value), re.IGNORECASE)
    if not match:
        raise BenchDataError(f"memory limit {value!r}: write bytes or a size such as '512m', '2g'")
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def load_tiers(baselines_dir: Path) -> dict[str, dict[str, Any]]:
    """The named tiers of ``<baselines_dir>/tiers.json`` (empty when the file is absent)."""
    path = Path(baselines_dir) / TIERS_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchDataError(f"{path} is not readable JSON ({exc}); fix or remove it") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise BenchDataError(f"{path} must map tier names to objects such as "
                             '{"ci-1cpu": {"cpus": 1, "memory": "1g"}}')
    return data


def tier_limits(name: str, baselines_dir: Path) -> tuple[float | None, int | None] | None:
    """``(cpus, memory_bytes)`` a named tier sets for the server, or None (no such entry).

    Either figure may be None when the tier limits only the other one.
    """
    entry = load_tiers(baselines_dir).get(name)
    if entry is None:
        return None
    unknown = set(entry) - {"cpus", "memory", "description"}
    if unknown:
        raise BenchDataError(f"tier {name!r} in {Path(baselines_dir) / TIERS_FILE}: unknown "
                             f"field(s) {sorted(unknown)}; use cpus, memory, description")
    cpus = entry.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float))
                             or cpus <= 0):
        raise BenchDataError(f"tier {name!r}: cpus must be a positive number, not {cpus!r}")
    memory = entry.get("memory")
    return (float(cpus) if cpus is not None else None,
            parse_memory(memory) if memory is not None else None)


def resolve_tier(setting: str, environment: Mapping[str, Any]) -> str:
    """The tier a run belongs to: the name given, or the fingerprint name for ``auto``."""
    if setting == "auto":
        return auto_tier_name(environment)
    return check_tier_name(setting)
