"""The ``docker`` provider: InfluxDB in a container started with testcontainers.

Where no registry can be reached, ``influxperf image build-local`` (:mod:`.image`) makes an
image from the ``influxd`` installed on the machine; with no image named, the provider takes
the pinned :data:`DEFAULT_IMAGE` if the engine has it, else the newest local build.

Three habits keep it honest on shared machines:

- Traffic stays on 127.0.0.1: the HTTP port is published on 127.0.0.1 only and the URL is
  built from that binding, never from testcontainers' host guess (which may answer the
  bridge gateway) nor from the container's bridge address.
- Nothing is pulled: a missing image is a clear error that says how to get one.
- No reaper image is needed: testcontainers' Ryuk is switched off for our containers, and
  the provider cleans up itself. ``stop()`` removes the container and its anonymous volume;
  an ``atexit`` hook and a SIGTERM handler stop what is still running; containers carry
  labels (session, owner pid, host) so the next start removes those whose owner died
  (``kill -9``, OOM).

Resource figures use the process provider's definitions (psutil RSS and CPU seconds of
influxd, file bytes under data and WAL) where the container's process and volume are
visible from here, and the engine's stats and ``du`` in the container where they are not.

``docker`` and ``testcontainers`` are imported inside the functions that use them, so
importing this module costs nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ServerExited, ServerStartError, ServerUnavailable
from .base import ResourceLimits, Server, ServerResources
from .disk import bytes_on_disk
from .readiness import wait_until_ready

if TYPE_CHECKING:
    import docker as docker_sdk
    from docker.models.containers import Container
    from typing_extensions import Self

DEFAULT_IMAGE = "influxdb:1.8.10"
"""The pinned upstream image, used when the engine already has it (nothing is pulled)."""

LOCAL_IMAGE_REPO = "pytest-influxperf/influxdb-local"
"""Repository of images made by ``influxperf image build-local``; the tag is the version."""

INFLUX_PORT = 8086
DATA_DIR = "/var/lib/influxdb"

LABEL_PREFIX = "org.pytest-influxperf"
SESSION_LABEL = f"{LABEL_PREFIX}.session"
OWNER_PID_LABEL = f"{LABEL_PREFIX}.owner-pid"
OWNER_HOST_LABEL = f"{LABEL_PREFIX}.owner-host"
OWNER_STARTED_LABEL = f"{LABEL_PREFIX}.owner-started"
SESSION_ID = uuid.uuid4().hex[:12]

# The same workload choices as the process provider's config, as influxd 1.x environment
# overrides so that they also hold for upstream images: no phoning home (the key is
# ``reporting-disabled`` upstream, ``reporting-enabled`` in Debian's build; unknown keys are
# ignored), no ``_internal`` monitor writes and no per-request log lines, which would be
# load the benchmark did not ask for.
SERVER_ENV = {
    "INFLUXDB_REPORTING_DISABLED": "true",
    "INFLUXDB_REPORTING_ENABLED": "false",
    "INFLUXDB_MONITOR_STORE_ENABLED": "false",
    "INFLUXDB_HTTP_LOG_ENABLED": "false",
    "INFLUXDB_DATA_QUERY_LOG_ENABLED": "false",
    "INFLUXDB_META_LOGGING_ENABLED": "false",
    "INFLUXDB_CONTINUOUS_QUERIES_ENABLED": "false",
}

DOCKER_API_TIMEOUT_S = 30
_START_HINT = ("start the engine (on this project's machines: `bash scripts/start-dockerd.sh`; "
               "elsewhere e.g. `sudo systemctl start docker`) or use --influx-provider process")
_LIVE: weakref.WeakSet[DockerServer] = weakref.WeakSet()
_TC_CONFIG_LOCK = threading.Lock()


# -- engine and images ---------------------------------------------------------------
def docker_client(timeout: int = DOCKER_API_TIMEOUT_S) -> docker_sdk.DockerClient:
    """A docker SDK client for the engine ``DOCKER_HOST`` (or the default socket) names.

    Raises :class:`ServerUnavailable` with what to do when the SDK is missing or no engine
    answers.
    """
    try:
        import docker
    except ImportError:
        raise ServerUnavailable(
            "the docker provider needs the `docker` and `testcontainers` packages: "
            "pip install 'pytest-influxperf[docker]'") from None
    check_local_engine(os.environ.get("DOCKER_HOST"))
    try:
        # from_env() asks the engine for its API version, so this also checks it answers.
        return docker.from_env(timeout=timeout)
    except docker.errors.DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if "Permission denied" in str(exc):
            raise ServerUnavailable(
                f"the Docker engine at {where} refuses this user ({_first_line(exc)}): add "
                "the user to the docker group (sudo usermod -aG docker $USER, then log in "
                "again) or use --influx-provider process") from None
        raise ServerUnavailable(f"no Docker engine answers at {where} ({_first_line(exc)}): "
                                f"{_START_HINT}") from None


def check_local_engine(docker_host: str | None) -> None:
    """Refuse an engine on another machine: its 127.0.0.1 port would not be ours.

    A local socket (``unix://``, ``npipe://``) or TCP on a loopback address is fine.
    """
    if not docker_host or docker_host.startswith(("unix://", "npipe://")):
        return
    from urllib.parse import urlsplit

    host = urlsplit(docker_host).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ServerUnavailable(
            f"DOCKER_HOST={docker_host} is not a local engine; the docker provider publishes "
            "InfluxDB on 127.0.0.1 and talks only to 127.0.0.1. Unset DOCKER_HOST to use the "
            "local engine, or use --influx-provider process")


def docker_available() -> tuple[bool, str]:
    """Whether a Docker engine answers, and if not, why and what to do (for ``auto``)."""
    try:
        client = docker_client(timeout=5)
    except ServerUnavailable as exc:
        return False, str(exc)
    try:
        client.ping()
    except Exception as exc:  # the SDK raises requests' and its own errors alike
        return False, f"the Docker engine does not answer a ping ({_first_line(exc)}): {_START_HINT}"
    finally:
        client.close()
    return True, ""


def local_image_present(image: str | None) -> str | None:
    """The image the provider would start, if the engine has it; ``None`` otherwise.

    A named image is returned only if it is present (nothing is pulled). With ``None``:
    :data:`DEFAULT_IMAGE` if present, else the highest version tagged
    :data:`LOCAL_IMAGE_REPO`. ``None`` also when no engine answers (ask
    :func:`docker_available` first for the reason).
    """
    try:
        client = docker_client(timeout=10)
    except ServerUnavailable:
        return None
    try:
        candidates = [image] if image else [DEFAULT_IMAGE]
        for name in candidates:
            if _has_image(client, name):
                return name
        if image:
            return None
        tags = [tag for img in client.images.list(name=LOCAL_IMAGE_REPO) for tag in img.tags
                if tag.startswith(LOCAL_IMAGE_REPO + ":")]
        return max(tags, key=_version_key) if tags else None
    finally:
        client.close()


def _has_image(client: docker_sdk.DockerClient, name: str) -> bool:
    import docker

    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    except (docker.errors.APIError, docker.errors.NullResource) as exc:
        raise ServerUnavailable(f"{name!r} is not a usable image name ({_first_line(exc)}); "
                                "pass --influx-image REPOSITORY:TAG") from None
    return True


def _version_key(tag: str) -> tuple[int, ...]:
    """Sort key for ``repo:1.6.7``: numeric parts first, so 1.10 sorts above 1.9."""
    return tuple(int(part) for part in re.findall(r"\d+", tag.rpartition(":")[2]))


def missing_image_message(image: str | None) -> str:
    """What to do when no usable image is on the engine."""
    build = (f"`influxperf image build-local` (makes {LOCAL_IMAGE_REPO}:<version> from the "
             "installed influxd)")
    if image:
        return (f"Docker image {image!r} is not on this engine, and the provider does not pull "
                f"(traffic stays on 127.0.0.1). Run `docker pull {image}` where a registry is "
                f"reachable, or run {build} and pass --influx-image {LOCAL_IMAGE_REPO}:<version>")
    return (f"no InfluxDB image on this Docker engine (neither {DEFAULT_IMAGE} nor "
            f"{LOCAL_IMAGE_REPO}:*). Run {build}, or `docker pull {DEFAULT_IMAGE}` where a "
            "registry is reachable, or use --influx-provider process")


# -- leftovers -----------------------------------------------------------------------
def reap_leftovers(client: docker_sdk.DockerClient | None = None) -> list[str]:
    """Remove containers of ours whose owner process on this host no longer runs.

    Returns the names removed. Containers of live runs (other users on a shared machine,
    other xdist workers) are left alone.
    """
    import docker

    own = client or docker_client()
    removed = []
    try:
        leftovers = own.containers.list(all=True, filters={"label": SESSION_LABEL})
        for container in leftovers:
            labels = container.labels
            if labels.get(OWNER_HOST_LABEL) != socket.gethostname():
                continue
            if _owner_alive(labels):
                continue
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                container.remove(force=True, v=True)
                removed.append(container.name)
    finally:
        if client is None:
            own.close()
    return removed


def _owner_labels() -> dict[str, str]:
    """Who owns a container: this process, told apart from a later one with the same pid."""
    return {SESSION_LABEL: SESSION_ID, OWNER_PID_LABEL: str(os.getpid()),
            OWNER_HOST_LABEL: socket.gethostname(), OWNER_STARTED_LABEL: _started_at(os.getpid())}


def _started_at(pid: int) -> str:
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except psutil.Error:
        return ""


def _owner_alive(labels: dict[str, str]) -> bool:
    """Whether the process that labelled a container still runs (same pid, same start)."""
    try:
        pid = int(labels.get(OWNER_PID_LABEL) or 0)
    except ValueError:
        return False
    if pid <= 0:
        return False
    started = _started_at(pid)
    if not started:
        return False
    # A pid reused by an unrelated process has another start time; older labels have none.
    return labels.get(OWNER_STARTED_LABEL, started) == started


@contextlib.contextmanager
def _without_ryuk() -> Iterator[None]:
    """Switch testcontainers' reaper off for our start only (its image may be missing).

    Restored afterwards so that other testcontainers users in the same process keep their
    own setting.
    """
    from testcontainers.core.config import testcontainers_config as tc_config

    with _TC_CONFIG_LOCK:
        previous = tc_config._ryuk_disabled
        tc_config.ryuk_disabled = True
        try:
            yield
        finally:
            tc_config._ryuk_disabled = previous


def _loopback_container(image: str) -> Any:
    """A testcontainers ``DockerContainer`` whose host is always 127.0.0.1."""
    from testcontainers.core.container import DockerContainer

    class LoopbackContainer(DockerContainer):  # type: ignore[misc]
        def get_container_host_ip(self) -> str:
            # testcontainers may answer the docker0 gateway when it thinks it runs in a
            # container; our port is published on 127.0.0.1 only.
            return "127.0.0.1"

    container = LoopbackContainer(image, docker_client_kw={"timeout": DOCKER_API_TIMEOUT_S})
    # docker-py's (host ip, host port) form: a free port chosen by the engine, bound to
    # 127.0.0.1 only. with_bind_ports() cannot say "any port on this address".
    container.ports[f"{INFLUX_PORT}/tcp"] = ("127.0.0.1", None)
    return container


# -- the provider --------------------------------------------------------------------
class DockerServer(Server):
    """InfluxDB in a Docker container, reached on 127.0.0.1.

    >>> with DockerServer(limits=ResourceLimits(cpus=1, memory_bytes=2 * 2**30)) as server:
    ...     server.client().create_database("demo")          # doctest: +SKIP
    """

    provider = "docker"

    def __init__(self, image: str | None = None, *, limits: ResourceLimits | None = None,
                 startup_timeout: float = 60.0) -> None:
        super().__init__()
        self.requested_image = image
        self.image: str | None = image
        self.limits = limits or ResourceLimits()
        self.startup_timeout = startup_timeout
        self.container_name = f"influxperf-{SESSION_ID}-{uuid.uuid4().hex[:6]}"
        self.started_in_s: float | None = None
        self._tc: Any = None  # testcontainers DockerContainer
        self._container: Container | None = None
        self._proc: Any = None  # psutil.Process of influxd, where visible from here
        self._oom_file: str | None = None  # the memory cgroup's OOM-kill counter, if visible
        self._started_epoch = 0  # wall-clock second the container was asked for (event log)
        self._engine_version: str | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> Self:
        began = time.monotonic()
        client = docker_client()
        try:
            self.image = self._choose_image(client)
            self._engine_version = client.version().get("Version")
            reap_leftovers(client)
        finally:
            client.close()
        _LIVE.add(self)
        _install_signal_handler()
        self._started_epoch = int(time.time()) - 1
        try:
            self._run_container()
            # Found now, while it runs: after a crash there is no pid left to look up.
            self._host_process()
            remaining = max(1.0, self.startup_timeout - (time.monotonic() - began))
            self.api, self.version = wait_until_ready(self, remaining)
        except BaseException:
            # Whoever called start() directly gets no container left behind; the error
            # already carries the log tail.
            self.stop()
            raise
        self.started_in_s = time.monotonic() - began
        return self

    def _choose_image(self, client: docker_sdk.DockerClient) -> str:
        if self.requested_image:
            if not _has_image(client, self.requested_image):
                raise ServerUnavailable(missing_image_message(self.requested_image))
            return self.requested_image
        chosen = local_image_present(None)
        if chosen is None:
            raise ServerUnavailable(missing_image_message(None))
        return chosen

    def _run_container(self) -> None:
        import docker

        assert self.image is not None
        tc = _loopback_container(self.image).with_name(self.container_name).with_envs(**SERVER_ENV)
        tc.with_kwargs(labels=_owner_labels(), **self._limit_kwargs())
        self._tc = tc
        try:
            with _without_ryuk():
                tc.start()
        except docker.errors.APIError as exc:
            # e.g. a memory limit below the engine's minimum, or a name clash.
            raise ServerStartError(f"Docker could not start {self.image} "
                                   f"(limits: {self.limits.describe()}): "
                                   f"{_first_line(exc.explanation or exc)}",
                                   log_tail=self.log_tail()) from None
        self._container = tc.get_wrapped_container()
        self.url = f"http://127.0.0.1:{self._published_port()}"

    def _limit_kwargs(self) -> dict[str, int]:
        """HostConfig limits: NanoCpus (CPU quota) and Memory (hard cap)."""
        kwargs = {}
        if self.limits.cpus is not None:
            kwargs["nano_cpus"] = int(self.limits.cpus * 1e9)
        if self.limits.memory_bytes is not None:
            kwargs["mem_limit"] = int(self.limits.memory_bytes)
        return kwargs

    def _published_port(self) -> int:
        """The 127.0.0.1 port the engine chose; read from the binding, not guessed."""
        assert self._container is not None
        deadline = time.monotonic() + 10
        while True:
            self._container.reload()
            bindings = (self._container.attrs["NetworkSettings"]["Ports"] or {}).get(
                f"{INFLUX_PORT}/tcp") or []
            for binding in bindings:
                if binding.get("HostIp") == "127.0.0.1" and binding.get("HostPort"):
                    return int(binding["HostPort"])
            if self._container.status not in ("created", "running") or time.monotonic() > deadline:
                raise ServerStartError(
                    f"container {self.container_name} has no port {INFLUX_PORT} published on "
                    f"127.0.0.1 (status {self._container.status}, bindings {bindings})",
                    log_tail=self.log_tail())
            time.sleep(0.05)

    def stop(self) -> None:
        tc, self._tc = self._tc, None
        container, self._container = self._container, None
        self._proc = None
        self._oom_file = None
        if self._client is not None:
            self._client.close()
            self._client = None
        _LIVE.discard(self)
        if container is None:
            # start() may have failed between create and start: find it by name.
            container = self._find_by_name() if tc is not None else None
        if container is not None:
            self._remove(container)
        if tc is not None:
            with contextlib.suppress(Exception):
                tc.get_docker_client().client.close()

    def _find_by_name(self) -> Container | None:
        import docker

        try:
            client = docker_client()
        except ServerUnavailable:
            return None
        try:
            return client.containers.get(self.container_name)
        except docker.errors.NotFound:
            return None
        finally:
            client.close()

    def _remove(self, container: Container) -> None:
        import docker

        # force: SIGKILL is fine, the data is thrown away; v: the image's VOLUME too.
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                self._warn_left_behind(exc)
        except Exception as exc:  # the engine went away: say so, do not fail the teardown
            self._warn_left_behind(exc)

    def _warn_left_behind(self, exc: BaseException) -> None:
        import warnings

        warnings.warn(f"influxperf: could not remove container {self.container_name} "
                      f"({_first_line(exc)}); the next docker run removes it, or run "
                      f"`docker rm -f -v {self.container_name}`", RuntimeWarning, stacklevel=3)

    # -- health ----------------------------------------------------------------------
    def _state(self) -> dict[str, Any] | None:
        """The container's State from the engine, or ``None`` if it is gone."""
        import docker

        if self._container is None:
            return None
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return None
        except (docker.errors.APIError, OSError, Exception):  # engine gone mid-run
            return None
        return dict(self._container.attrs.get("State") or {})

    def is_running(self) -> bool:
        state = self._state()
        return bool(state and state.get("Running"))

    def check_alive(self) -> None:
        """Raise :class:`ServerExited` with the exit code, OOM verdict and log tail if it died."""
        oom_kills = self._oom_kills()  # first: the cgroup goes away with the container
        state = self._state()
        if state and state.get("Running") and self._process_alive() and not oom_kills:
            return
        # influxd can be gone a moment before the engine marks the container exited (an
        # OOM kill): wait briefly for the engine's verdict so the exit code is right.
        deadline = time.monotonic() + 3
        while state and state.get("Running") and time.monotonic() < deadline:
            time.sleep(0.05)
            oom_kills = max(oom_kills, self._oom_kills())
            state = self._state()
        if state and state.get("Running"):
            return
        if state is None:
            detail = "the container is gone (removed, or the engine stopped)"
        else:
            detail = f"container {state.get('Status')}, exit code {state.get('ExitCode')}"
            if oom_kills or state.get("OOMKilled") or self._engine_saw_oom(state):
                detail += (", killed by the kernel OOM killer: the memory limit "
                           f"({self.limits.describe()}) is too small for this workload")
        raise ServerExited(f"InfluxDB server exited ({self.describe()}; {detail})",
                           log_tail=self.log_tail())

    def _engine_saw_oom(self, state: dict[str, Any], wait_s: float = 1.0) -> bool:
        """Whether the engine logged an ``oom`` event for the container.

        Docker may record the exit before the OOM notice (then ``OOMKilled`` stays false),
        so a SIGKILL exit (137) is checked against the event log for up to ``wait_s``.
        """
        if state.get("ExitCode") != 137 or self._container is None:
            return False
        deadline = time.monotonic() + wait_s
        while True:
            try:
                events = self._container.client.events(
                    since=self._started_epoch, until=f"{time.time():.3f}", decode=True,
                    filters={"container": self._container.id, "event": "oom"})
                if any(True for _ in events):
                    return True
            except Exception:  # no event log: no verdict either way
                return False
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _oom_kills(self) -> int:
        """OOM kills the kernel counted in the container's memory cgroup (0 if not visible).

        A kill is counted before the dying influxd closes its sockets, so a client that
        lost its connection learns the reason even when the engine has not caught up.
        """
        if not self._oom_file:
            return 0
        try:
            with open(self._oom_file, encoding="utf-8") as handle:
                for line in handle:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def _process_alive(self) -> bool:
        """False once influxd is gone or a zombie; True where its process is not visible."""
        import psutil

        proc = self._host_process()
        if proc is None:
            return True
        try:
            return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False

    def log_tail(self, lines: int = 40) -> str:
        container = self._container
        if container is None and self._tc is not None:
            with contextlib.suppress(Exception):
                container = self._tc.get_wrapped_container()
        if container is None:
            return ""
        try:
            raw = container.logs(stdout=True, stderr=True, tail=lines)
        except Exception:  # the container or the engine is gone: no tail to give
            return ""
        return raw.decode(errors="replace").rstrip()

    # -- figures ---------------------------------------------------------------------
    # Two ways to each figure: the engine's API works for any engine but is slow (stats take
    # about 1 s per call on Docker 20.10, du needs an exec), so where the container's
    # process and volume are visible from here (a local engine, which is the only kind we
    # use) they are read directly, with the same definitions as the process provider.
    def resources(self) -> ServerResources:
        """RSS and CPU seconds of influxd, bytes on disk of its data and WAL folders."""
        if self._container is None:
            return ServerResources()
        rss, cpu = self._process_figures()
        if rss is None:
            rss, cpu = self._engine_figures()
        return ServerResources(rss_bytes=rss, cpu_seconds=cpu, disk_bytes=self.disk_bytes())

    def _process_figures(self) -> tuple[int | None, float | None]:
        import psutil

        proc = self._host_process()
        if proc is None:
            return None, None
        try:
            with proc.oneshot():
                times = proc.cpu_times()
                return proc.memory_info().rss, times.user + times.system
        except psutil.Error:
            return None, None

    def _host_process(self) -> Any:
        """influxd as a psutil.Process, if its pid is visible here and really in our container.

        The cgroup check guards against an engine in a VM, whose pid means nothing here.
        """
        if self._proc is not None or self._container is None:
            return self._proc
        import psutil

        pid = int((self._container.attrs.get("State") or {}).get("Pid") or 0)
        try:
            with open(f"/proc/{pid}/cgroup", encoding="utf-8") as handle:
                cgroups = handle.read()
            if pid and self._container.id in cgroups:
                self._proc = psutil.Process(pid)
                self._oom_file = _oom_counter_file(cgroups)
        except (OSError, psutil.Error):
            pass
        return self._proc

    def _engine_figures(self) -> tuple[int | None, float | None]:
        assert self._container is not None
        try:
            stats = self._container.stats(stream=False, one_shot=True)
        except Exception:  # container or engine gone: the figures are simply not there
            return None, None
        if not stats.get("memory_stats"):
            return None, None  # an exited container reports empty stats, not zeros
        rss = _rss_from_stats(stats.get("memory_stats") or {})
        total_ns = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
        return rss, (total_ns / 1e9 if total_ns is not None else None)

    def disk_bytes(self, database: str | None = None) -> int | None:
        """Bytes of the files under data and WAL in the container (one database's, if named).

        The data lives in a volume, which the engine does not count in the container's
        size: read the volume's folder where this process may, else ``du`` in the container.
        """
        if self._container is None:
            return None
        folders = ["data", "wal"] if not database else [f"data/{database}", f"wal/{database}"]
        volume = self._volume_path()
        if volume is not None:
            return sum(bytes_on_disk(os.path.join(volume, folder)) for folder in folders)
        return self._du([f"{DATA_DIR}/{folder}" for folder in folders])

    def _volume_path(self) -> str | None:
        assert self._container is not None
        for mount in self._container.attrs.get("Mounts") or []:
            source = mount.get("Source") or ""
            if mount.get("Destination") == DATA_DIR and source and os.access(source, os.R_OK | os.X_OK):
                return str(source)
        return None

    def _du(self, paths: list[str]) -> int | None:
        assert self._container is not None
        try:
            code, output = self._container.exec_run(["du", "-s", "-B1", *paths])
        except Exception:
            return None
        sizes = [int(line.split()[0]) for line in output.decode(errors="replace").splitlines()
                 if line.split() and line.split()[0].isdigit()]
        # du exits 1 when a named database has no WAL folder yet: count what it measured.
        if code not in (0, 1) or not sizes:
            return None
        return sum(sizes)

    def environment(self) -> dict[str, object]:
        return {**super().environment(), "image": self.image,
                "docker_engine": self._engine_version}


def _oom_counter_file(cgroups: str, root: str = "/sys/fs/cgroup") -> str | None:
    """The file holding ``oom_kill N`` for a process, from its ``/proc/PID/cgroup`` text.

    cgroup v1: ``memory.oom_control`` of the memory hierarchy; v2: ``memory.events``.
    """
    for line in cgroups.splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            candidate = f"{root}/memory{path}/memory.oom_control"
            return candidate if os.path.exists(candidate) else None
    for line in cgroups.splitlines():
        if line.startswith("0::"):
            candidate = f"{root}{line[3:]}/memory.events"
            return candidate if os.path.exists(candidate) else None
    return None


def _rss_from_stats(memory: dict[str, Any]) -> int | None:
    """Resident memory from Docker's memory_stats, as close to a process RSS as it gets.

    ``usage`` counts the page cache too (it grows with every TSM file read), so take the
    anonymous memory plus mapped files: ``rss + mapped_file`` on cgroup v1,
    ``anon + file_mapped`` on cgroup v2; ``usage - cache`` as the last resort. Pages of the
    binary first read outside the container are charged elsewhere, so this can read a few
    MiB below psutil's RSS of the same influxd; deltas over a workload agree.
    """
    stats = memory.get("stats") or {}
    for anon, mapped in (("rss", "mapped_file"), ("anon", "file_mapped")):
        if anon in stats:
            return int(stats[anon]) + int(stats.get(mapped, 0))
    usage = memory.get("usage")
    if usage is None:
        return None
    return int(usage) - int(stats.get("cache", stats.get("inactive_file", 0)))


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- process exit --------------------------------------------------------------------
def stop_all() -> None:
    """Stop every docker server this process started (atexit and SIGTERM call it)."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


atexit.register(stop_all)
_SIGNAL_INSTALLED = False


def _install_signal_handler() -> None:
    """On SIGTERM, remove our containers, then die of SIGTERM as before.

    Only where nobody set a handler already (we do not override pytest's or the user's),
    and only from the main thread (Python's rule for signal handlers).
    """
    global _SIGNAL_INSTALLED
    if _SIGNAL_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    _SIGNAL_INSTALLED = True
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, _frame: object) -> None:
        stop_all()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, on_sigterm)
