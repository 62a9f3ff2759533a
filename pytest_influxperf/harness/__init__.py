"""Timed harnesses: the writer, the query runner, the query builder, latency and resources.

Nothing here imports pytest; the plugin's ``influx_writer`` and ``influx_query`` fixtures
build a :class:`Writer` and a :class:`QueryRunner` bound to the session's server.
"""

from __future__ import annotations

from .accounting import Ledger, WriteErrorRecord
from .builder import Query
from .latency import Latency
from .query import ClientAggResult, QueryResult, QueryRunner
from .retry import RetryPolicy, parse_retry_after
from .sampler import ResourceSampler
from .writer import Batch, WriteResult, Writer, prepare_batches

__all__ = [
    "Batch", "ClientAggResult", "Latency", "Ledger", "Query", "QueryResult", "QueryRunner",
    "ResourceSampler", "RetryPolicy", "WriteErrorRecord", "WriteResult", "Writer",
    "parse_retry_after", "prepare_batches",
]
