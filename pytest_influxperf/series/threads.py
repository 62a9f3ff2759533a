"""A few worker threads for numpy-heavy work (numpy releases the GIL in its loops).

The number of threads never changes the data: work is split the same way whatever the
machine, and only the scheduling differs.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

THREADS = min(4, os.cpu_count() or 1)


def ordered_map(fn: Callable[[T], R], jobs: Iterable[T], threads: int | None = None) -> Iterator[R]:
    """``map(fn, jobs)`` on a few threads, results in order, a bounded number in flight."""
    n = THREADS if threads is None else threads
    if n <= 1:
        yield from map(fn, jobs)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(n, thread_name_prefix="influxperf-series") as pool:
        window: deque[Any] = deque()
        for job in jobs:
            window.append(pool.submit(fn, job))
            if len(window) >= 2 * n:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
