"""What every server provider gives: one handle, whatever started the server.

A provider is a :class:`Server` subclass. ``start()`` returns the server itself once it
really accepts writes; ``stop()`` leaves no process, container or temporary folder behind
and is safe to call twice. Used as a context manager, a server that fails to start is
stopped before the error propagates (the testcontainers habit).
"""

from __future__ import annotations

import abc
import dataclasses
import time
from typing import TYPE_CHECKING

from ..errors import ServerExited, redact

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..client import InfluxClient


@dataclasses.dataclass(frozen=True)
class ResourceLimits:
    """CPU and memory caps for a server (tiers use them). ``None`` means no cap."""

    cpus: float | None = None
    memory_bytes: int | None = None

    def describe(self) -> str:
        parts = []
        if self.cpus is not None:
            parts.append(f"{self.cpus:g} CPU")
        if self.memory_bytes is not None:
            parts.append(f"{self.memory_bytes / 2**30:.1f} GiB")
        return ", ".join(parts) or "no limits"


@dataclasses.dataclass(frozen=True)
class ServerResources:
    """One sample of what the server uses. A figure the provider cannot see is ``None``."""

    rss_bytes: int | None = None
    cpu_seconds: float | None = None
    disk_bytes: int | None = None
    taken_at: float = dataclasses.field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, float | int | None]:
        return {"rss_bytes": self.rss_bytes, "cpu_seconds": self.cpu_seconds,
                "disk_bytes": self.disk_bytes}


class Server(abc.ABC):
    """A running InfluxDB, however it was had.

    Attributes filled by ``start()``: ``url`` (always ``http://127.0.0.1:PORT`` or the
    user's URL), ``api`` (``"v1"``, ``"v2"`` or ``"v3"``), ``version`` (the server's own
    version string), ``token`` and ``org`` (``None`` where not used).
    """

    provider: str = "?"

    def __init__(self) -> None:
        self.url: str = ""
        self.api: str = "v1"
        self.version: str = "unknown"
        self.token: str | None = None
        self.org: str | None = None
        self.limits: ResourceLimits = ResourceLimits()
        self._client: InfluxClient | None = None

    # -- lifecycle -------------------------------------------------------------------
    @abc.abstractmethod
    def start(self) -> Self:
        """Start (or attach to) the server and wait until it accepts writes."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop what ``start()`` started. Idempotent; never raises for a dead server."""

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def prepare(self, client: InfluxClient) -> None:
        """Called once the server answers, before the readiness round trip (e.g. to create
        the first user). Default: nothing."""

    # -- health ----------------------------------------------------------------------
    def is_running(self) -> bool:
        """Whether the server process/container is alive. URL servers answer a ping."""
        return True

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log, or ``""`` where the provider has none."""
        return ""

    def check_alive(self) -> None:
        """Raise :class:`ServerExited` (with the log tail) if the server has died."""
        if not self.is_running():
            raise ServerExited(f"InfluxDB server exited ({self.describe()})",
                               log_tail=self.log_tail())

    # -- figures ---------------------------------------------------------------------
    def resources(self) -> ServerResources:
        """RSS, CPU seconds and bytes on disk, where this provider can see them."""
        return ServerResources()

    def environment(self) -> dict[str, object]:
        """What a baseline records about where this server runs (no secrets)."""
        return {"provider": self.provider, "api": self.api, "server_version": self.version,
                "limits_cpus": self.limits.cpus, "limits_memory_bytes": self.limits.memory_bytes}

    # -- access ----------------------------------------------------------------------
    def client(self) -> InfluxClient:
        """A client bound to this server (shared; thread-safe for reads and writes)."""
        if self._client is None:
            from ..client import InfluxClient

            self._client = InfluxClient(self.url, api=self.api, token=self.token, org=self.org,
                                        liveness=self.check_alive)
        return self._client

    def describe(self) -> str:
        return f"{self.provider} server {self.url or '(not started)'}, {self.api} {self.version}"

    def __repr__(self) -> str:
        # Never the token: reprs end up in pytest's failure output.
        return redact(f"<{type(self).__name__} {self.describe()}>")
