"""When and how long to wait before sending a batch again.

Retried: 429, 5xx (the server is busy or failed) and connection errors (reset, refused,
timed out). Not retried: 4xx answers other than 429, which will not change by waiting.
Writes to InfluxDB are idempotent (a point with the same series and timestamp replaces
itself), so a retry after a timeout cannot double the data, only the work.
"""

from __future__ import annotations

import dataclasses
import email.utils
import random
import time

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, honoring ``Retry-After``.

    ``retries`` is how many times one batch may be sent again after its first attempt.
    The wait before retry ``n`` (0-based) is ``uniform(0, min(cap, base * 2**n))`` unless
    the server said ``Retry-After``, which is honored up to ``retry_after_cap_s``.
    """

    retries: int = 3
    base_s: float = 0.1
    cap_s: float = 5.0
    retry_after_cap_s: float = 30.0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, not {self.retries}")
        if self.base_s < 0 or self.cap_s < 0:
            raise ValueError("backoff times must be >= 0")

    def should_retry(self, status: int | None) -> bool:
        """Whether an answer (``None``: a connection error) is worth another attempt."""
        return status is None or status in RETRY_STATUSES

    def delay(self, attempt: int, retry_after: str | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        told = parse_retry_after(retry_after)
        if told is not None:
            return min(told, self.retry_after_cap_s)
        ceiling = min(self.cap_s, self.base_s * (2 ** attempt))
        return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), else ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
