"""A small InfluxDB client for the three HTTP APIs, used by servers, harnesses and tests.

It is deliberately thin: it speaks the documented endpoints, raises readable errors
(also for an error inside a 200 answer), and exposes the pieces a harness needs to send
requests itself (:meth:`InfluxClient.write_target`) so that timing loops do not pay for
this layer.

- v1 (InfluxDB 1.x): ``/write``, ``/query`` (InfluxQL). Verified against a real 1.6 server.
- v2 (InfluxDB 2.x): ``/api/v2/write``, buckets through ``/api/v2/buckets``, InfluxQL
  through the v1-compatible ``/query`` endpoint. Written to the documentation.
- v3 (InfluxDB 3 Core/Enterprise): ``/api/v3/write_lp``, ``/api/v3/query_sql``,
  ``/api/v3/query_influxql``, ``/api/v3/configure/database``. Written to the documentation.
"""

from __future__ import annotations

from .client import InfluxClient, QueryAnswer, WriteTarget, detect_api

__all__ = ["InfluxClient", "QueryAnswer", "WriteTarget", "detect_api"]
