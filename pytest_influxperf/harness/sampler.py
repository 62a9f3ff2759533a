"""Server resources while a harness runs: RSS, CPU time, bytes on disk, series cardinality.

The figures come from the server handle (``Server.resources()``: psutil for a process,
the Docker API for a container; a URL server may know none), sampled by a background
thread at a fixed interval. Cardinality is asked once at the end (a query costs the
server work, which must not land inside the measured window).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

DEFAULT_INTERVAL_S = 0.5


class ResourceSampler:
    """Samples ``server.resources()`` in a thread between :meth:`start` and :meth:`stop`.

    >>> with ResourceSampler(server, "db") as sampler:   # doctest: +SKIP
    ...     run_load()
    >>> sampler.summary()["cpu_seconds"]                  # doctest: +SKIP
    """

    def __init__(self, server: Any, database: str | None = None, *,
                 interval_s: float = DEFAULT_INTERVAL_S, cardinality: bool = True) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, not {interval_s}")
        self.server = server
        self.database = database
        self.interval_s = interval_s
        self.cardinality = cardinality
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()

    def __enter__(self) -> ResourceSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ResourceSampler:
        self._t0 = time.monotonic()
        self._take()
        self._thread = threading.Thread(target=self._loop, name="influxperf-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._thread = None
        self._take()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._take()

    def _take(self) -> None:
        try:
            sample = self.server.resources()
        except Exception as exc:  # noqa: BLE001 - a dead server must not kill the harness
            self.samples.append({"t": time.monotonic() - self._t0, "error": str(exc)})
            return
        row = {"t": time.monotonic() - self._t0, "rss_bytes": sample.rss_bytes,
               "cpu_seconds": sample.cpu_seconds, "disk_bytes": sample.disk_bytes}
        self.samples.append(row)

    def summary(self) -> dict[str, Any]:
        """Flat figures for reports: before/after/peak RSS, CPU seconds used, disk, series."""
        good = [s for s in self.samples if "error" not in s]
        out: dict[str, Any] = {"samples": len(good)}
        rss = [s["rss_bytes"] for s in good if s["rss_bytes"] is not None]
        if rss:
            out.update(rss_bytes_before=rss[0], rss_bytes_after=rss[-1], rss_bytes_peak=max(rss))
        cpu = [s["cpu_seconds"] for s in good if s["cpu_seconds"] is not None]
        if len(cpu) >= 2:
            out["cpu_seconds"] = cpu[-1] - cpu[0]
        disk = [s["disk_bytes"] for s in good if s["disk_bytes"] is not None]
        if disk:
            out.update(disk_bytes_before=disk[0], disk_bytes=disk[-1])
        db_disk = database_disk_bytes(self.server, self.database)
        if db_disk is not None:
            out["database_disk_bytes"] = db_disk
        if self.cardinality:
            card = series_cardinality(self.server, self.database)
            if card is not None:
                out["series_cardinality"] = card
        return out


def database_disk_bytes(server: Any, database: str | None) -> int | None:
    """Bytes on disk of one database, where the provider can tell (the process provider)."""
    probe = getattr(server, "disk_bytes", None)
    if database is None or not callable(probe):
        return None
    with contextlib.suppress(Exception):
        value = probe(database)
        return int(value) if value is not None else None
    return None


def series_cardinality(server: Any, database: str | None) -> int | None:
    """The server's series count estimate for ``database`` (v1/v2 InfluxQL), else ``None``."""
    if database is None or getattr(server, "api", "v1") == "v3":
        return None
    try:
        rows = server.client().query(f'SHOW SERIES CARDINALITY ON "{database}"', database,
                                     timeout=10).rows
    except Exception:  # noqa: BLE001 - optional figure: servers that cannot tell say nothing
        return None
    values = [v for row in rows for k, v in row.items()
              if k != "_measurement" and isinstance(v, (int, float))]
    return int(sum(values)) if values else None
