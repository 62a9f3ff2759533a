"""Write accounting that loses nothing.

Every point a run was given ends in exactly one bucket::

    points_total    = points_sent + points_unsent
    points_sent     = points_accepted + points_rejected
    points_rejected = points_refused + points_failed

- *accepted*: the server said it stored them (2xx, or the good lines of a partial write);
- *refused*: the server answered and said no (unparseable lines, dropped points, 413,
  another 4xx): they are not stored;
- *failed*: no definitive answer after all retries (connection errors, timeouts, 5xx/429):
  they may or may not be stored, and ``verify=True`` reads back what was;
- *unsent*: never sent, because ``max_duration`` ran out or the run was aborted.

A :class:`Ledger` belongs to one worker (no locks on the hot path); ledgers are merged at
the end, also across processes (they pickle).
"""

from __future__ import annotations

import dataclasses
from typing import Any

SHOWN_MESSAGES = 5  # distinct server messages kept per error kind; all are counted
MESSAGE_CHARS = 2000  # a message listing thousands of bad lines is cut for display only

# Error kinds: what happened to the points of a request.
REFUSED = "refused"          # 400/422 partial write: the counted lines were not stored
TOO_LARGE = "too_large"      # 413: the whole body was refused
CLIENT_ERROR = "http_4xx"    # another 4xx (404 database, 401/403 auth, ...)
SERVER_ERROR = "http_retryable"  # 5xx or 429 still failing after the retries
TRANSPORT = "transport"      # connection refused/reset, timeout, after the retries
FAILED_KINDS = frozenset({SERVER_ERROR, TRANSPORT})


@dataclasses.dataclass
class WriteErrorRecord:
    """One kind of error of a run: its HTTP status (``None`` for a connection error), how
    many requests got it, how many points it cost, and the first few server messages."""

    kind: str
    status: int | None
    count: int = 0
    points: int = 0
    messages: list[str] = dataclasses.field(default_factory=list)

    @property
    def message(self) -> str:
        """The first message (what most readers want)."""
        return self.messages[0] if self.messages else ""

    def add(self, points: int, message: str, count: int = 1) -> None:
        self.count += count
        self.points += points
        message = message[:MESSAGE_CHARS]
        if message and message not in self.messages and len(self.messages) < SHOWN_MESSAGES:
            self.messages.append(message)

    def __str__(self) -> str:
        status = self.status if self.status is not None else "no answer"
        return f"{self.kind} ({status}) x{self.count}, {self.points} points: {self.message}"


@dataclasses.dataclass
class Ledger:
    """What one worker did; merge with :meth:`merge`."""

    points_sent: int = 0
    points_accepted: int = 0
    points_refused: int = 0
    points_failed: int = 0
    batches_sent: int = 0
    requests: int = 0
    retries: int = 0
    bytes_sent: int = 0
    bytes_on_wire: int = 0
    connections_opened: int = 0
    client_cpu_s: float = 0.0
    latencies_ms: list[float] = dataclasses.field(default_factory=list)
    intended_latencies_ms: list[float] = dataclasses.field(default_factory=list)
    errors: dict[tuple[str, int | None], WriteErrorRecord] = dataclasses.field(default_factory=dict)
    retried: dict[tuple[str, int | None], WriteErrorRecord] = dataclasses.field(default_factory=dict)
    first_start: float | None = None
    last_end: float | None = None

    # -- recording -------------------------------------------------------------------
    def sent(self, points: int, raw_bytes: int, wire_bytes: int) -> None:
        """A batch went out for the first time (retries do not count it again)."""
        self.batches_sent += 1
        self.points_sent += points
        self.bytes_sent += raw_bytes
        self.bytes_on_wire += wire_bytes

    def accepted(self, points: int) -> None:
        self.points_accepted += points

    def lost(self, kind: str, status: int | None, points: int, message: str) -> None:
        """Points that were sent and not accepted, with why."""
        if kind in FAILED_KINDS:
            self.points_failed += points
        else:
            self.points_refused += points
        _record(self.errors, kind, status, points, message)

    def retry(self, kind: str, status: int | None, message: str) -> None:
        """An attempt that will be repeated: counted, costs no points (yet)."""
        self.retries += 1
        _record(self.retried, kind, status, 0, message)

    # -- combining -------------------------------------------------------------------
    def merge(self, other: Ledger) -> None:
        """Add another worker's ledger to this one."""
        for name in ("points_sent", "points_accepted", "points_refused", "points_failed",
                     "batches_sent", "requests", "retries", "bytes_sent", "bytes_on_wire",
                     "connections_opened"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.client_cpu_s += other.client_cpu_s
        self.latencies_ms.extend(other.latencies_ms)
        self.intended_latencies_ms.extend(other.intended_latencies_ms)
        for mine, theirs in ((self.errors, other.errors), (self.retried, other.retried)):
            for key, rec in theirs.items():
                target = mine.setdefault(key, WriteErrorRecord(rec.kind, rec.status))
                target.count += rec.count
                target.points += rec.points
                for msg in rec.messages:
                    if msg not in target.messages and len(target.messages) < SHOWN_MESSAGES:
                        target.messages.append(msg)
        starts = [t for t in (self.first_start, other.first_start) if t is not None]
        ends = [t for t in (self.last_end, other.last_end) if t is not None]
        self.first_start = min(starts) if starts else None
        self.last_end = max(ends) if ends else None

    @property
    def points_rejected(self) -> int:
        return self.points_refused + self.points_failed

    def check(self) -> None:
        """Raise if the books do not balance (a harness bug, never the server's)."""
        if self.points_sent != self.points_accepted + self.points_rejected:
            raise AssertionError(f"write accounting does not balance: sent {self.points_sent} != "
                                 f"accepted {self.points_accepted} + rejected "
                                 f"{self.points_rejected}")

    def rejected_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for rec in self.errors.values():
            out[rec.kind] = out.get(rec.kind, 0) + rec.points
        return out


def _record(table: dict[tuple[str, int | None], WriteErrorRecord], kind: str,
            status: int | None, points: int, message: str) -> None:
    key = (kind, status)
    rec = table.get(key)
    if rec is None:
        rec = table[key] = WriteErrorRecord(kind, status)
    rec.add(points, message)


def summarize_errors(table: dict[Any, WriteErrorRecord]) -> list[WriteErrorRecord]:
    """Error records, the costliest first."""
    return sorted(table.values(), key=lambda r: (-r.points, -r.count, r.kind))
