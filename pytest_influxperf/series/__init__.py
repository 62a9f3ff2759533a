"""Synthetic series: TSBS-shaped and the guide's own, seeded, rendered fast, cached on disk.

``SeriesFactory(cache_dir)(shape, hosts=..., points=..., seed=..., **params)`` returns a
:class:`Series`: ``len()``, ``batches(size)`` (line-protocol ``bytes``), ``to_frame()``.
Importing this package loads numpy only; pandas is imported by ``to_frame()``.
"""

from __future__ import annotations

from .series import Series, SeriesFactory

__all__ = ["Series", "SeriesFactory"]
