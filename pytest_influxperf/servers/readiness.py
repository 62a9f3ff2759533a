"""Readiness: a server is ready when it accepts a write and answers it back, not when it pings."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from ..errors import InfluxPerfError, ServerStartError, ServerUnavailable

if TYPE_CHECKING:
    from ..client import InfluxClient
    from .base import Server

POLL_INTERVAL_S = 0.05


def wait_until_ready(server: Server, timeout: float) -> tuple[str, str]:
    """Poll ``server`` until a database can be created and a point written and read back.

    Returns ``(api, version)``. Raises :class:`ServerStartError` carrying the server's log
    tail when it exits or when ``timeout`` seconds pass first.
    """
    from ..client import InfluxClient, detect_api

    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if not server.is_running():
            raise ServerStartError(f"{server.provider} InfluxDB exited during start-up "
                                   f"({server.url})", log_tail=server.log_tail())
        try:
            api, version = detect_api(server.url, token=server.token, timeout=2.0)
            client = InfluxClient(server.url, api=api, token=server.token, org=server.org,
                                  timeout=5.0)
            try:
                server.prepare(client)
                round_trip(client)
            finally:
                client.close()
            return api, version
        except (ServerUnavailable, InfluxPerfError) as exc:
            last_error = str(exc).splitlines()[0]
        time.sleep(POLL_INTERVAL_S)
    raise ServerStartError(f"{server.provider} InfluxDB at {server.url} not ready after "
                           f"{timeout:.0f} s (last: {last_error})", log_tail=server.log_tail())


def round_trip(client: InfluxClient) -> None:
    """Create a scratch database, write one point, read it back, drop the database."""
    db = f"influxperf_ready_{uuid.uuid4().hex[:8]}"
    client.create_database(db)
    try:
        client.write("ready,probe=1 value=1i 1000000000", db)
        rows = client.query('SELECT "value" FROM "ready"', db).rows
        if not rows or rows[0].get("value") != 1:
            raise ServerUnavailable(f"wrote a probe point but read back {rows!r}")
    finally:
        client.drop_database(db)
