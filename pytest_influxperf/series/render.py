"""Vectorised line-protocol rendering: columns of numbers in, one ``bytes`` buffer out.

Formatting one point at a time in Python tops out near 300,000 lines/s, about the speed at
which the server ingests them, so a benchmark would measure the generator. Here a chunk of
rows becomes a 2-D ``uint8`` matrix (one row per line): each *segment* of the line
(measurement and tags, a field name, a number, the timestamp) fills a band of columns at
once with numpy, variable-width parts are right-aligned in their band and padded, and a
boolean mask of the bytes to keep squeezes the padding out in one pass. When every row of
a chunk has the same width (the common case for timestamps and tag sets) no mask is built.

Digits come from a table of the 10,000 four-digit groups, so an int64 takes five lookups,
not nineteen divisions.

Segments take their values from full-length columns by an index (a slice or an integer
array) so the same segment list renders any chunk, in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union

import numpy as np

Index = Union[slice, np.ndarray]

_T4 = np.frombuffer(b"".join(f"{i:04d}".encode() for i in range(10_000)), dtype=np.uint32).copy()
_P10 = np.array([10**k for k in range(1, 20)], dtype=np.uint64)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_MINUS, _DOT = ord("-"), ord(".")


@dataclass
class Piece:
    """A rendered band: bytes (``n x w`` or broadcastable ``1 x w``), keep-mask, row lengths."""

    block: np.ndarray
    mask: np.ndarray | None
    lens: np.ndarray | int


def ndigits(a: np.ndarray) -> np.ndarray:
    """Decimal digit counts of non-negative integers (0 has one digit)."""
    return np.searchsorted(_P10, a, side="right") + 1


def digits(a: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative integers, right-aligned and zero-padded to ``width``."""
    n = a.shape[0]
    groups = -(-width // 4)
    x = a.astype(np.uint32) if a.size and int(a.max()) < 2**32 else a.astype(np.uint64)
    out = np.empty((n, groups), dtype=np.uint32)
    for k in range(groups - 1, -1, -1):
        out[:, k] = _T4[x % 10_000]
        if k:
            x = x // 10_000
    return out.view(np.uint8).reshape(n, groups * 4)[:, groups * 4 - width:]


def _abs_u64(v: np.ndarray) -> np.ndarray:
    """|v| as uint64, exact also for the int64 minimum."""
    u = v.astype(np.uint64)
    neg = v < 0
    if neg.any():
        u[neg] = (~u[neg]) + np.uint64(1)
    return u


def _right_aligned(a: np.ndarray, neg: np.ndarray | None, min_digits: int = 1) -> Piece:
    """Digits of ``a`` (uint64), with a leading ``-`` where ``neg``, right-aligned."""
    n = a.shape[0]
    if n == 0:
        return Piece(np.empty((0, 0), np.uint8), None, 0)
    lo, hi = int(a.min()), int(a.max())
    w_lo = max(min_digits, len(str(lo)))
    w_hi = max(min_digits, len(str(hi)))
    has_neg = neg is not None and bool(neg.any())
    sign = 1 if has_neg else 0
    width = w_hi + sign
    block = np.empty((n, width), dtype=np.uint8)
    block[:, sign:] = digits(a, w_hi)
    if w_lo == w_hi and not has_neg:
        return Piece(block, None, width)
    nd = np.maximum(ndigits(a), min_digits)
    if has_neg:
        block[:, 0] = _MINUS
        rows = np.flatnonzero(neg)
        block[rows, width - 1 - nd[rows]] = _MINUS
        nd = nd + neg
    mask = np.arange(width)[None, :] >= (width - nd)[:, None]
    return Piece(block, mask, nd)


class Segment:
    """One band of a line; ``render(idx)`` gives the bytes for the rows ``idx`` selects."""

    present: np.ndarray | None = None

    def render(self, idx: Index, n: int) -> Piece:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class Const(Segment):
    """The same bytes on every row (a separator, ``,usage_user=``, ``i``, newline)."""

    data: bytes
    present: np.ndarray | None = None

    def render(self, idx: Index, n: int) -> Piece:
        block = np.frombuffer(self.data, dtype=np.uint8)[None, :]
        return Piece(block, None, len(self.data))


@dataclass
class Table(Segment):
    """Per-row choice from a small table of byte strings (a tag set, a string value)."""

    choices: Sequence[bytes]
    codes: np.ndarray
    present: np.ndarray | None = None
    _table: np.ndarray = field(init=False, repr=False)
    _lens: np.ndarray = field(init=False, repr=False)
    _mask: np.ndarray = field(init=False, repr=False)
    _uniform: bool = field(init=False, repr=False)
    _packed: tuple[np.ndarray, np.ndarray] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lens = np.array([len(c) for c in self.choices], dtype=np.int64)
        width = int(lens.max()) if len(lens) else 0
        table = np.zeros((len(self.choices), width), dtype=np.uint8)
        for i, c in enumerate(self.choices):
            # Right-aligned so the mask test is the same as for digits.
            table[i, width - len(c):] = np.frombuffer(c, dtype=np.uint8)
        self._table, self._lens = table, lens
        self._mask = np.arange(width)[None, :] >= (width - lens)[:, None]
        self._uniform = bool((lens == width).all())
        self._packed = None
        if 0 < width <= 8:
            # Narrow entries (digits, true/false) as one uint64 each: one gather per row.
            pad = np.zeros((len(self.choices), 8), dtype=np.uint8)
            pad[:, 8 - width:] = table
            pmask = np.zeros((len(self.choices), 8), dtype=bool)
            pmask[:, 8 - width:] = self._mask
            self._packed = (pad.view(np.uint64).ravel(), pmask.view(np.uint64).ravel())

    def render(self, idx: Index, n: int) -> Piece:
        return self.render_codes(self.codes[idx])

    def render_codes(self, codes: np.ndarray) -> Piece:
        """The piece for explicit per-row codes."""
        width = self._table.shape[1]
        if self._packed is not None:
            n = codes.shape[0]
            block = self._packed[0][codes].view(np.uint8).reshape(n, 8)[:, 8 - width:]
            if self._uniform:
                return Piece(block, None, width)
            mask = self._packed[1][codes].view(np.bool_).reshape(n, 8)[:, 8 - width:]
            return Piece(block, mask, self._lens[codes])
        if self._uniform:
            return Piece(self._table[codes], None, width)
        return Piece(self._table[codes], self._mask[codes], self._lens[codes])


@dataclass
class Int(Segment):
    """Integers in decimal (int64 column), e.g. a field value before its ``i`` or a timestamp.

    A column whose values span fewer than 4096 integers (percentages, small counters) is
    rendered from a table of its rendered values: one gather per row instead of digits.
    """

    values: np.ndarray
    present: np.ndarray | None = None
    bounds: tuple[int, int] | None = None  # (min, max) when the caller already knows them
    _lookup: Table | None = field(init=False, repr=False, default=None)
    _lo: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        if self.values.size:
            lo, hi = self.bounds if self.bounds is not None else (int(self.values.min()), int(self.values.max()))
            if hi - lo < 4096:
                self._lo = lo
                self._lookup = Table([str(v).encode() for v in range(lo, hi + 1)], self.values)

    def render(self, idx: Index, n: int) -> Piece:
        v = self.values[idx]
        if self._lookup is not None:
            # intp codes: numpy gathers twice as fast as with small-integer codes.
            codes = v.astype(np.intp)
            return self._lookup.render_codes(codes - self._lo if self._lo else codes)
        v = v.astype(np.int64, copy=False)
        if v.size and int(v.min()) >= 0:
            return _right_aligned(v.astype(np.uint64), None)
        return _right_aligned(_abs_u64(v), v < 0)


@dataclass
class Fixed(Segment):
    """Floats with a fixed number of decimals, from integers scaled by ``10**decimals``.

    ``-12.50`` is ``scaled=-1250, decimals=2``. Zero decimals writes a bare integer, which
    line protocol reads as a float.
    """

    scaled: np.ndarray
    decimals: int
    present: np.ndarray | None = None

    def render(self, idx: Index, n: int) -> Piece:
        v = self.scaled[idx]
        neg = v < 0
        a = _abs_u64(v)
        if self.decimals == 0:
            return _right_aligned(a, neg)
        scale = np.uint64(10**self.decimals)
        ip = _right_aligned(a // scale, neg)
        frac = digits(a % scale, self.decimals)
        block = np.empty((n, ip.block.shape[1] + 1 + self.decimals), dtype=np.uint8)
        w = ip.block.shape[1]
        block[:, :w] = ip.block
        block[:, w] = _DOT
        block[:, w + 1:] = frac
        mask = None
        if ip.mask is not None:
            mask = np.ones(block.shape, dtype=bool)
            mask[:, :w] = ip.mask
        return Piece(block, mask, ip.lens + 1 + self.decimals)


@dataclass
class Uuid(Segment):
    """Random UUIDs (version 4 text form) from a ``(rows, 16)`` uint8 array."""

    raw: np.ndarray
    present: np.ndarray | None = None

    def render(self, idx: Index, n: int) -> Piece:
        return Piece(uuid_text(self.raw[idx]), None, 36)


def uuid_text(raw: np.ndarray) -> np.ndarray:
    """``(n, 16)`` random bytes to ``(n, 36)`` ASCII ``xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx``."""
    raw = raw.copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = np.empty((raw.shape[0], 32), dtype=np.uint8)
    hexes[:, 0::2] = _HEX[raw >> 4]
    hexes[:, 1::2] = _HEX[raw & 0x0F]
    out = np.full((raw.shape[0], 36), _MINUS, dtype=np.uint8)
    for dst, src, w in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        out[:, dst:dst + w] = hexes[:, src:src + w]
    return out


def _piece(seg: Segment, idx: Index, n: int) -> Piece:
    piece = seg.render(idx, n)
    if seg.present is not None:
        present = seg.present[idx]
        base = piece.mask if piece.mask is not None else np.ones((n, piece.block.shape[1]), bool)
        piece = Piece(piece.block, base & present[:, None], piece.lens * present)
    return piece


def render_rows(segments: Sequence[Segment], idx: Index, n: int,
                groups: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Render ``n`` rows into a padded matrix: ``(bytes n x W, keep-mask or None, lengths)``.

    Constant bands are laid down for all rows at once: when the line starts with a tag set
    chosen from a few (hosts), whole row templates (tag set and every constant band) are
    gathered per row in one step; otherwise a single template row is broadcast. Narrow
    variable bands (digits) are then copied one column at a time: numpy copies a long
    strided column far faster than many 3-byte rows.

    ``groups`` (segment counts) splits each row into several lines; the lengths are then
    ``n x len(groups)``, one per line.
    """
    head = segments[0]
    by_row = isinstance(head, Table) and head.present is None and 0 < len(head.choices) * 4 <= n
    pieces: list[Piece | None] = [None if by_row and i == 0 else _piece(seg, idx, n)
                                  for i, seg in enumerate(segments)]
    widths = [head._table.shape[1] if p is None else p.block.shape[1] for p in pieces]  # type: ignore[union-attr]
    width = sum(widths)
    template = np.zeros(width, dtype=np.uint8)
    col = 0
    for p, w in zip(pieces, widths):
        if p is not None and p.block.shape[0] == 1:
            template[col:col + w] = p.block[0]
        col += w
    need_mask = any(p is not None and p.mask is not None for p in pieces)
    if by_row:
        assert isinstance(head, Table)
        w0 = widths[0]
        need_mask = need_mask or not head._uniform
        codes = head.codes[idx]
        rows = np.empty((len(head.choices), width), dtype=np.uint8)
        rows[:] = template
        rows[:, :w0] = head._table
        matrix = rows[codes]
        mask = None
        if need_mask:
            row_mask = np.ones((len(head.choices), width), dtype=bool)
            row_mask[:, :w0] = head._mask
            mask = row_mask[codes]
    else:
        matrix = np.empty((n, width), dtype=np.uint8)
        matrix[:] = template
        mask = np.ones((n, width), dtype=bool) if need_mask else None
    group_of = np.repeat(np.arange(len(groups)), groups) if groups else np.zeros(len(segments), int)
    lens = np.zeros((n, int(group_of[-1]) + 1), dtype=np.int64)
    if by_row:
        lens[:, 0] = head._lens[codes]
    col = 0
    for g, p, w in zip(group_of, pieces, widths):
        if p is not None:
            if p.block.shape[0] != 1:
                _put(matrix, col, p.block)
            if mask is not None and p.mask is not None:
                _put(mask, col, p.mask)
            lens[:, g] += p.lens
        col += w
    return matrix, mask, (lens if groups else lens[:, 0])


def _put(dst: np.ndarray, col: int, block: np.ndarray) -> None:
    w = block.shape[1]
    if w <= 8:
        for j in range(w):
            dst[:, col + j] = block[:, j]
    else:
        dst[:, col:col + w] = block


def squeeze(matrix: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The kept bytes of a padded matrix, row after row, as one flat uint8 array."""
    if mask is None:
        return matrix.reshape(-1)
    return matrix[mask]


def render_interleaved(layouts: Sequence[Sequence[Segment]], samples: slice) -> tuple[np.ndarray, np.ndarray]:
    """Rows in tick-major order, ``len(layouts)`` lines per sample: one per measurement.

    Sample ``s`` gives lines ``s*m .. s*m+m-1`` for ``m`` measurements: the layouts are laid
    side by side in one matrix row per sample, so squeezing it row by row yields the lines
    already interleaved, with no padding to the widest measurement. Returns the bytes and
    the length of each line.
    """
    n = samples.stop - samples.start
    if len(layouts) == 1:
        matrix, mask, lens = render_rows(layouts[0], samples, n)
        return squeeze(matrix, mask), lens
    joined = [seg for layout in layouts for seg in layout]
    matrix, mask, lens = render_rows(joined, samples, n, groups=[len(layout) for layout in layouts])
    return squeeze(matrix, mask), lens.reshape(-1)


def render_ordered(layouts: Sequence[Sequence[Segment]], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Render the global rows ``rows`` (sample * m + measurement), in that order.

    Used when lines are dropped or reordered (the ``iot`` shape's missing and late points).
    """
    m = len(layouts)
    n = rows.shape[0]
    meas = rows % m
    sample = rows // m
    parts = []
    for j, layout in enumerate(layouts):
        pos = np.flatnonzero(meas == j)
        parts.append((pos, render_rows(layout, sample[pos], pos.shape[0])))
    width = max(p[1][0].shape[1] for p in parts)
    grid = np.empty((n, width), dtype=np.uint8)
    keep = np.zeros((n, width), dtype=bool)
    lens = np.empty(n, dtype=np.int64)
    for pos, (matrix, mask, ln) in parts:
        w = matrix.shape[1]
        grid[pos, :w] = matrix
        keep[pos, :w] = True if mask is None else mask
        lens[pos] = ln
    return grid[keep], lens
