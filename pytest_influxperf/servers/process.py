"""The ``process`` provider: ``influxd`` as a child process, the default that needs no Docker.

Each server gets its own temporary folder (config, meta, data, wal, log) and free
loopback ports for HTTP and the RPC bind address. Three nets keep a crash from leaving
anything behind: ``stop()`` (also run by fixture teardown and ``atexit``), a parent-death
signal on the child (Linux), and a sweep of folders whose owner process has died.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ServerStartError, ServerUnavailable, register_secret
from .base import ResourceLimits, Server, ServerResources
from .cgroups import CgroupLimit, cgroups_writable
from .disk import bytes_on_disk
from .readiness import wait_until_ready

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..client import InfluxClient

TEMP_PREFIX = "influxperf-influxd-"
OWNER_FILE = "owner.pid"
_LIVE: weakref.WeakSet[ProcessServer] = weakref.WeakSet()


def find_binary(binary: str | None = None) -> str | None:
    """The influxd to run: an explicit path/name, else the one on PATH."""
    name = binary or "influxd"
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_config(root: Path, http_port: int, rpc_port: int,
                  overrides: dict[str, dict[str, object]] | None = None) -> str:
    """An influxd 1.x config confined to ``root`` and loopback ports.

    Reporting, the ``_internal`` monitor store and HTTP request logging are off: they add
    writes and log volume that are not the workload being measured.
    """
    sections: dict[str, dict[str, object]] = {
        "": {"reporting-enabled": False, "bind-address": f"127.0.0.1:{rpc_port}"},
        "meta": {"dir": str(root / "meta"), "logging-enabled": False},
        "data": {"dir": str(root / "data"), "wal-dir": str(root / "wal"),
                 "query-log-enabled": False},
        "monitor": {"store-enabled": False},
        "http": {"bind-address": f"127.0.0.1:{http_port}", "log-enabled": False},
        "continuous_queries": {"enabled": False},
    }
    for section, values in (overrides or {}).items():
        sections.setdefault(section, {}).update(values)
    out: list[str] = []
    for section, values in sections.items():
        if section:
            out.append(f"\n[{section}]")
        out.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    return "\n".join(out) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def sweep_orphans(tmp_root: Path | None = None) -> int:
    """Remove temporary folders left by runs whose process no longer exists."""
    removed = 0
    for folder in Path(tmp_root or tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        try:
            owner = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not _pid_alive(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGKILL influxd if pytest dies without cleaning up (kill -9, OOM)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setsid()  # own process group: Ctrl-C in the terminal reaches pytest, not influxd


class ProcessServer(Server):
    """``influxd`` started as a child process.

    >>> with ProcessServer() as server:                  # doctest: +SKIP
    ...     server.client().create_database("demo")
    """

    provider = "process"

    def __init__(self, binary: str | None = None, *, limits: ResourceLimits | None = None,
                 startup_timeout: float = 30.0,
                 config: dict[str, dict[str, object]] | None = None,
                 auth: tuple[str, str] | None = None) -> None:
        super().__init__()
        if auth is not None:
            # influxd 1.x lets the very first admin be created without credentials; the
            # server then demands them (Basic auth from a "user:password" token).
            config = {**(config or {}), "http": {**(config or {}).get("http", {}),
                                                  "auth-enabled": True}}
            self.token = f"{auth[0]}:{auth[1]}"
            register_secret(auth[1])
        self._auth = auth
        self.binary = binary
        self.limits = limits or ResourceLimits()
        self.startup_timeout = startup_timeout
        self.config_overrides = config
        self.root: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_in_s: float | None = None
        self._log_file: object | None = None
        self._cgroup: CgroupLimit | None = None
        self.limits_applied: list[str] = []

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> Self:
        path = find_binary(self.binary)
        if path is None:
            raise ServerUnavailable(
                f"influxd not found ({self.binary or 'influxd on PATH'}). Install it "
                "(Debian/Ubuntu: apt-get install influxdb) or pass --influx-binary PATH")
        self.binary = path
        sweep_orphans()
        began = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        (self.root / OWNER_FILE).write_text(str(os.getpid()))
        http_port, rpc_port = free_port(), free_port()
        config_path = self.root / "influxd.conf"
        config_path.write_text(render_config(self.root, http_port, rpc_port, self.config_overrides))
        self.url = f"http://127.0.0.1:{http_port}"
        log = open(self.root / "influxd.log", "wb")  # noqa: SIM115 - closed in stop()
        self._log_file = log
        _LIVE.add(self)
        try:
            self.proc = subprocess.Popen([path, "run", "-config", str(config_path)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        except OSError as exc:
            raise ServerStartError(f"could not run {path}: {exc}") from None
        self._apply_limits()
        self.api, self.version = wait_until_ready(self, self.startup_timeout)
        self.started_in_s = time.monotonic() - began
        return self

    def prepare(self, client: InfluxClient) -> None:
        if self._auth is not None:
            import requests

            user, password = self._auth
            statement = (f'CREATE USER "{user}" WITH PASSWORD \'{password}\' '
                         "WITH ALL PRIVILEGES")
            requests.post(f"{self.url}/query", data={"q": statement}, timeout=5)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        _LIVE.discard(self)

    def _apply_limits(self) -> None:
        """Cap influxd as ``docker --cpus/--memory`` would: a cgroup CFS quota and memory
        limit where cgroups are writable (root), else pin it to whole cores and say that
        memory is not capped."""
        if self.proc is None or (self.limits.cpus is None and self.limits.memory_bytes is None):
            return
        if cgroups_writable():
            self._cgroup = CgroupLimit(f"influxperf-{os.getpid()}-{self.proc.pid}")
            try:
                self.limits_applied = self._cgroup.apply(
                    self.proc.pid, cpus=self.limits.cpus, memory_bytes=self.limits.memory_bytes)
                return
            except OSError as exc:
                self.limits_applied = [f"cgroup refused ({exc.strerror})"]
        if self.limits.cpus is not None:
            import math

            import psutil

            cores = sorted(os.sched_getaffinity(0))
            want = max(1, min(len(cores), math.ceil(self.limits.cpus)))
            psutil.Process(self.proc.pid).cpu_affinity(cores[:want])
            self.limits_applied.append(f"pinned to {want} core(s)")
        if self.limits.memory_bytes is not None:
            self.limits_applied.append("memory not capped (no writable cgroup)")

    # -- health and figures ----------------------------------------------------------
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if self.root is None or not (self.root / "influxd.log").exists():
            return ""
        text = (self.root / "influxd.log").read_bytes()[-64_000:].decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def resources(self) -> ServerResources:
        import psutil

        rss = cpu = None
        if self.is_running() and self.proc is not None:
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(self.proc.pid)
                rss = p.memory_info().rss
                times = p.cpu_times()
                cpu = times.user + times.system
        return ServerResources(rss_bytes=rss, cpu_seconds=cpu, disk_bytes=self.disk_bytes())

    def disk_bytes(self, database: str | None = None) -> int | None:
        """Bytes on disk of data and WAL (one database's, if named)."""
        if self.root is None:
            return None
        folders = [self.root / "data", self.root / "wal"]
        if database:
            folders = [f / database for f in folders]
        return sum(bytes_on_disk(f) for f in folders)

    def environment(self) -> dict[str, object]:
        return {**super().environment(), "binary": self.binary,
                "limits_applied": ", ".join(self.limits_applied) or None}


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()
