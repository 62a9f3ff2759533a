"""``SeriesFactory`` and ``Series``: validated parameters in, line-protocol batches out.

>>> factory = SeriesFactory(cache_dir=None)
>>> s = factory("simple", hosts=2, points=3, seed=1)
>>> len(s), next(s.batches(2))
(3, b'benchmark,host=server00 value=0 1451606400000000000\\nbenchmark,host=server01 value=1 1451606400001000000\\n')
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import cache as _cache
from .lineprotocol import (
    PRECISIONS,
    escape_measurement,
    escape_string_value,
    format_field_key,
    format_tag,
)
from .render import Const, Fixed, Int, Segment, Table, Uuid, render_interleaved, render_ordered, uuid_text
from .threads import ordered_map
from .shapes import SHAPES, TSBS_START_NS, Columns, MeasurementColumns, make_rng

if TYPE_CHECKING:
    import pandas as pd

COMMON_PARAMS = ("start", "interval_s", "align_now", "now_ns", "precision")
SHAPE_PARAMS: dict[str, tuple[str, ...]] = {
    "simple": COMMON_PARAMS,
    "cpu-only": COMMON_PARAMS,
    "devops": COMMON_PARAMS,
    "iot": COMMON_PARAMS,
    "custom": COMMON_PARAMS + ("measurement", "tags", "fields"),
}
MAX_POINTS = 2_000_000_000
MAX_SERIES = 1_000_000
CHUNK_LINES = 4_096  # rows per numpy pass: the padded matrix stays in L2 cache (measured best)


class Series:
    """A generated series: its line protocol in memory, its answers on demand.

    ``len(series)`` is the number of points (lines). ``batches(size)`` yields ``bytes`` of
    ``size`` lines each (the last may be shorter), every line ending in a newline.
    ``to_frame()`` rebuilds the values as a pandas DataFrame (one row per line, in write
    order) to check query answers against.
    """

    def __init__(self, *, shape: str, params: dict[str, Any], payload: np.ndarray, ends: np.ndarray,
                 meta: dict[str, Any], columns: Callable[[], Columns], cache_status: str) -> None:
        self.shape = shape
        self.params = params
        self._payload = payload
        self._ends = ends
        self._meta = meta
        self._columns = columns
        self._shift_ns = 0
        #: ``"hit"``, ``"miss"`` (generated and stored), ``"rebuilt"`` (a bad entry replaced), ``"off"``.
        self.cache_status = cache_status

    def __len__(self) -> int:
        return int(self._ends.shape[0])

    def __repr__(self) -> str:
        return (f"Series({self.shape!r}, points={len(self)}, nbytes={self.nbytes}, "
                f"precision={self.precision!r}, cache={self.cache_status!r})")

    @property
    def nbytes(self) -> int:
        """Total line-protocol bytes, newlines included."""
        return int(self._payload.shape[0])

    @property
    def precision(self) -> str:
        """Unit of the timestamps in the lines: ``ns``, ``us``, ``ms`` or ``s`` (pass it to /write)."""
        return str(self.params["precision"])

    @property
    def measurements(self) -> list[str]:
        """Measurement names, in the order each sample writes them."""
        return list(self._meta["measurements"])

    @property
    def tag_keys(self) -> dict[str, list[str]]:
        """Tag keys per measurement."""
        return {k: list(v) for k, v in self._meta["tag_keys"].items()}

    @property
    def field_keys(self) -> dict[str, dict[str, str]]:
        """Field name -> type (``float``, ``int``, ``bool``, ``str``) per measurement."""
        return {k: dict(v) for k, v in self._meta["field_keys"].items()}

    @property
    def start_ns(self) -> int:
        """Earliest timestamp of any line, in ns since the epoch."""
        return int(self._meta["start_ns"]) + self._shift_ns

    @property
    def end_ns(self) -> int:
        """Latest timestamp of any line, in ns since the epoch."""
        return int(self._meta["end_ns"]) + self._shift_ns

    @property
    def interval_ns(self) -> int:
        """Time between ticks (``simple``: between lines)."""
        return int(self._meta["interval_ns"])

    def batches(self, size: int) -> Iterator[bytes]:
        """Yield the lines ``size`` at a time as ``bytes``, each batch whole lines only."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"batch size must be a positive integer, not {size!r}")
        ends, buf, n = self._ends, self._payload, len(self)
        for i in range(0, n, size):
            start = int(ends[i - 1]) if i else 0
            yield buf[start:int(ends[min(i + size, n) - 1])].tobytes()

    def to_bytes(self) -> bytes:
        """All lines as one ``bytes``."""
        return self._payload.tobytes()

    def lines(self) -> Iterator[str]:
        """Each line as text, without its newline (slow: for checks, not for load)."""
        # Split at the known line ends: a string field may itself hold a newline.
        starts = np.concatenate(([0], self._ends[:-1]))
        for start, end in zip(starts.tolist(), self._ends.tolist()):
            yield self._payload[start:end - 1].tobytes().decode()

    def to_frame(self) -> pd.DataFrame:
        """One row per line, in write order: ``measurement``, ``time`` (UTC), tags, fields.

        Tags a line leaves out and fields it leaves out are missing values (``None``,
        ``NaN``, ``<NA>``). Regenerated from the seed on each call (cheap next to rendering).
        """
        return columns_to_frame(self._columns(), self._shift_ns)

    def _shift(self, delta_ns: int) -> None:
        """Move every timestamp by ``delta_ns`` (multiple of the precision), rewriting the bytes."""
        unit = PRECISIONS[self.precision]
        if delta_ns % unit:
            raise ValueError(f"shift {delta_ns} ns is not a multiple of the precision {self.precision}")
        if not _retime(self._payload, self._ends, delta_ns // unit):
            raise ValueError("shift would change the number of timestamp digits")
        self._shift_ns += delta_ns


def _retime(payload: np.ndarray, ends: np.ndarray, delta: int) -> bool:
    """Add ``delta`` to the timestamp that ends every line, in place. False if widths change.

    Every timestamp must have the same number of digits before and after (true for all
    times between 2001 and 2286 in ns), so each one is rewritten where it stands.
    """
    from .render import digits

    n = ends.shape[0]
    if n == 0 or delta == 0:
        return True
    width = None
    for s in range(0, n, 65_536):
        e = min(n, s + 65_536)
        last = ends[s:e] - 1  # the newline
        if width is None:
            width = _ts_width(payload, int(last[0]))
        idx = (last - width)[:, None] + np.arange(width)[None, :]
        old = payload[idx].astype(np.int64) - 48
        if (old < 0).any() or (old > 9).any() or (payload[last - width - 1] != 32).any():
            return False
        values = old @ (10 ** np.arange(width - 1, -1, -1, dtype=np.int64))
        new = values + delta
        if int(new.min()) < 10 ** (width - 1) or int(new.max()) >= 10**width:
            return False
        payload[idx] = digits(new.astype(np.uint64), width)
    return True


def _ts_width(payload: np.ndarray, newline: int) -> int:
    i = newline - 1
    while i >= 0 and 48 <= payload[i] <= 57:
        i -= 1
    return newline - 1 - i


# ------------------------------------------------------------------------------ render


def _layout(meas: MeasurementColumns, ts_units: np.ndarray) -> list[Segment]:
    """The segments of one measurement's lines (see ``render.py``)."""
    static = list(meas.tag_keys)
    keys = sorted(static + list(meas.uuid_tags))
    segments: list[Segment] = []
    head = escape_measurement(meas.name)
    group: list[int] = []  # positions in ``static`` of a run of consecutive static keys

    def flush(prefix: str) -> None:
        if not prefix and not group:
            return
        choices = []
        for tagset in meas.tagsets:
            text = prefix + "".join("," + format_tag(static[i], tagset[i]) for i in group
                                    if tagset[i] is not None)
            choices.append(text.encode())
        segments.append(Table(choices, meas.tagset_codes))

    prefix = head
    for key in keys:
        if key in meas.uuid_tags:
            flush(prefix)
            group = []
            prefix = ""
            segments.append(Const(("," + format_tag(key, "x")[:-1]).encode()))
            segments.append(Uuid(meas.uuid_tags[key]))
        else:
            group.append(static.index(key))
    flush(prefix)
    segments.append(Const(b" "))
    any_before: np.ndarray | None = None
    for k, f in enumerate(meas.fields):
        name = format_field_key(f.name).encode() + b"="
        value: list[Segment]
        if f.kind == "int":
            value = [Int(f.values, bounds=f.bounds), Const(b"i")]
        elif f.kind == "float":
            value = [Fixed(f.values, f.decimals)]
        elif f.kind == "bool":
            value = [Table([b"false", b"true"], f.values)]
        else:
            assert f.choices is not None
            value = [Table([escape_string_value(c).encode() for c in f.choices], f.values)]
        if f.present is None and any_before is None:
            segments.append(Const((b"," if k else b"") + name))
            segments.extend(value)
            continue
        present = f.present if f.present is not None else np.ones(ts_units.shape[0], bool)
        if k:
            before = any_before if any_before is not None else np.ones_like(present)
            segments.append(Const(b",", present=present & before))
        segments.append(Const(name, present=present))
        for seg in value:
            seg.present = present
        segments.extend(value)
        any_before = present if any_before is None else (any_before | present)
    segments += [Const(b" "), Int(ts_units), Const(b"\n")]
    return _merge_consts(segments)


def _merge_consts(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        if (isinstance(seg, Const) and seg.present is None and out and isinstance(out[-1], Const)
                and out[-1].present is None):
            out[-1] = Const(out[-1].data + seg.data)
        else:
            out.append(seg)
    return out


def render_columns(cols: Columns, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """Line protocol for generated columns: ``(payload bytes as uint8, end offset per line)``."""
    unit = PRECISIONS[precision]
    ts_units = cols.times_ns // unit if unit != 1 else cols.times_ns
    layouts = [_layout(meas, ts_units) for meas in cols.measurements]
    m = len(layouts)
    if cols.rows is None:
        samples = -(-cols.n_lines // m)
        step = max(1, CHUNK_LINES // m)
        chunks = ((render_interleaved, slice(s, min(samples, s + step))) for s in range(0, samples, step))
        total_lines = samples * m
    else:
        chunks = ((render_ordered, cols.rows[s:s + CHUNK_LINES]) for s in range(0, cols.rows.shape[0], CHUNK_LINES))
        total_lines = cols.rows.shape[0]
    out = _Output(total_lines)
    # numpy releases the GIL in the heavy parts of rendering: chunks render in parallel.
    for data, lens in ordered_map(lambda job: job[0](layouts, job[1]), chunks):
        out.add(data, lens)
    payload, ends = out.result()
    if ends.shape[0] > cols.n_lines:  # the last tick was cut short
        ends = ends[:cols.n_lines]
        payload = payload[:int(ends[-1])]
    return payload, ends


class _Output:
    """One growing buffer for all chunks: no list of parts to concatenate at the end."""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.buf = np.empty(0, dtype=np.uint8)
        self.ends = np.empty(lines, dtype=np.int64)
        self.nbytes = 0
        self.nlines = 0

    def add(self, data: np.ndarray, lens: np.ndarray) -> None:
        n = lens.shape[0]
        if self.nbytes + data.shape[0] > self.buf.shape[0]:
            # Size from the bytes per line so far, with room to spare; rarely grows twice.
            per_line = (self.nbytes + data.shape[0]) / (self.nlines + n)
            want = int(per_line * self.lines * 1.05) + data.shape[0] + 4096
            grown = np.empty(max(want, 2 * self.buf.shape[0]), dtype=np.uint8)
            grown[:self.nbytes] = self.buf[:self.nbytes]
            self.buf = grown
        self.buf[self.nbytes:self.nbytes + data.shape[0]] = data
        np.cumsum(lens, out=self.ends[self.nlines:self.nlines + n])
        self.ends[self.nlines:self.nlines + n] += self.nbytes
        self.nbytes += data.shape[0]
        self.nlines += n

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        return self.buf[:self.nbytes], self.ends[:self.nlines]


def columns_meta(cols: Columns) -> dict[str, Any]:
    """Names, keys, types and time range: what a cache hit needs without regenerating."""
    rows = cols.line_rows()
    times = cols.times_ns[rows // len(cols.measurements)]
    return {
        "measurements": [m.name for m in cols.measurements],
        "tag_keys": {m.name: sorted(list(m.tag_keys) + list(m.uuid_tags)) for m in cols.measurements},
        "field_keys": {m.name: {f.name: f.kind for f in m.fields} for m in cols.measurements},
        "start_ns": int(times.min()) if times.size else 0,
        "end_ns": int(times.max()) if times.size else 0,
        "interval_ns": int(cols.interval_ns),
    }


def columns_to_frame(cols: Columns, shift_ns: int = 0) -> pd.DataFrame:
    """The DataFrame of :meth:`Series.to_frame`."""
    import pandas as pd

    rows = cols.line_rows()
    m = len(cols.measurements)
    which, sample = rows % m, rows // m
    frames = []
    for j, meas in enumerate(cols.measurements):
        pos = np.flatnonzero(which == j)
        s = sample[pos]
        data: dict[str, Any] = {
            "measurement": np.full(pos.shape[0], meas.name, dtype=object),
            "time": pd.to_datetime(cols.times_ns[s] + shift_ns, unit="ns", utc=True),
        }
        codes = meas.tagset_codes[s]
        for k, key in enumerate(meas.tag_keys):
            values = np.array([ts[k] for ts in meas.tagsets], dtype=object)
            data[key] = values[codes]
        for key, raw in meas.uuid_tags.items():
            data[key] = uuid_text(raw[s]).view("S36").ravel().astype(str).astype(object)
        for f in meas.fields:
            values = f.as_python(s)
            if f.present is not None:
                present = f.present[s]
                if f.kind == "float":
                    values = np.where(present, values, np.nan)
                elif f.kind == "int":
                    values = pd.array(values, dtype="Int64")
                    values[~present] = pd.NA
                elif f.kind == "bool":
                    values = pd.array(values, dtype="boolean")
                    values[~present] = pd.NA
                else:
                    values = np.where(present, values, None)
            data[f.name] = values
        frames.append(pd.DataFrame(data, index=pos))
    frame = pd.concat(frames) if len(frames) > 1 else frames[0]
    return frame.sort_index().reset_index(drop=True)


# ----------------------------------------------------------------------------- factory


def _to_ns(start: object) -> int:
    """A start time as ns since the epoch: int ns, ISO-8601 text or a datetime."""
    if isinstance(start, bool):
        raise ValueError(f"start must be ns since the epoch, an ISO-8601 string or a datetime, not {start!r}")
    if isinstance(start, int):
        return start
    if isinstance(start, str):
        try:
            start = _dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"start {start!r} is not an ISO-8601 time such as '2016-01-01T00:00:00Z'") from None
    if isinstance(start, _dt.datetime):
        if start.tzinfo is None:
            raise ValueError(f"start {start!r} has no time zone; give one (e.g. UTC) so the time is unambiguous")
        delta = start - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    raise ValueError(f"start must be ns since the epoch, an ISO-8601 string or a datetime, not {start!r}")


def _positive_int(name: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ValueError(f"{name} must be an integer from 1 to {limit:,}, not {value!r}")
    return value


def normalize(shape: str, hosts: int, points: int, seed: int, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check every argument up front and return the canonical parameters (the cache key)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown series shape {shape!r}; known shapes: {', '.join(SHAPES)}")
    unknown = sorted(set(params) - set(SHAPE_PARAMS[shape]))
    if unknown:
        raise TypeError(f"shape {shape!r} takes no parameter(s) {', '.join(map(repr, unknown))}; "
                        f"it takes hosts, points, seed, {', '.join(SHAPE_PARAMS[shape])}")
    hosts = _positive_int("hosts", hosts, 1_000_000)
    points = _positive_int("points", points, MAX_POINTS)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative integer below 2**63, not {seed!r}")
    precision = params.get("precision", "ns")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    unit = PRECISIONS[precision]
    align_now = params.get("align_now", False)
    if not isinstance(align_now, bool):
        raise ValueError(f"align_now must be True or False, not {align_now!r}")
    if align_now and "start" in params:
        raise ValueError("give either start or align_now=True, not both: align_now places the series "
                         "so that it ends now")
    if "now_ns" in params and not align_now:
        raise ValueError("now_ns only makes sense with align_now=True")
    start_ns = _to_ns(params["start"]) if "start" in params else TSBS_START_NS
    if start_ns % unit:
        raise ValueError(f"start {start_ns} ns is not a whole number of {precision}; with precision="
                         f"{precision!r} every timestamp must be")
    interval_ns = None
    if "interval_s" in params:
        iv = params["interval_s"]
        if isinstance(iv, bool) or not isinstance(iv, (int, float)) or not iv > 0:
            raise ValueError(f"interval_s must be a positive number of seconds, not {iv!r}")
        interval_ns = int(round(iv * 1_000_000_000))
        if interval_ns % unit or interval_ns == 0:
            raise ValueError(f"interval_s={iv!r} is not a whole number of {precision}: points would share "
                             "timestamps and overwrite each other")
    default_step = {"simple": 1_000_000}.get(shape, 10_000_000_000)
    if interval_ns is None and default_step % unit:
        raise ValueError(f"shape {shape!r} steps {default_step} ns by default, finer than precision "
                         f"{precision!r}; pass interval_s")
    out: dict[str, Any] = {"shape": shape, "hosts": hosts, "points": points, "seed": seed,
                           "precision": precision, "start_ns": start_ns, "interval_ns": interval_ns}
    if shape == "custom":
        out.update(_normalize_custom(params, hosts))
    return out


def _normalize_custom(params: Mapping[str, Any], hosts: int) -> dict[str, Any]:
    from .shapes import field_spec

    measurement = params.get("measurement", "custom")
    escape_measurement(measurement)
    tags = params.get("tags", {"host": hosts})
    if not isinstance(tags, Mapping):
        raise ValueError(f"tags must map tag keys to a cardinality or 'uuid', not {tags!r}")
    series = 1
    for key, card in tags.items():
        format_tag(key, "x")
        if card != "uuid" and (isinstance(card, bool) or not isinstance(card, int) or card < 1):
            raise ValueError(f"tag {key!r}: cardinality must be a positive integer or 'uuid', not {card!r}")
        if card != "uuid":
            series *= card
    if series > MAX_SERIES:
        raise ValueError(f"tags make {series:,} series, more than {MAX_SERIES:,}; for one series per point "
                         "use a 'uuid' tag")
    fields = params.get("fields", {"value": "float"})
    if not isinstance(fields, Mapping) or not fields:
        raise ValueError(f"fields must map at least one field name to a type or spec, not {fields!r}")
    for name, spec in fields.items():
        format_field_key(name)
        field_spec(name, spec)
        if name in tags:
            raise ValueError(f"{name!r} is both a tag and a field; give them different names")
    for reserved in ("measurement", "time"):
        if reserved in tags or reserved in fields:
            raise ValueError(f"{reserved!r} is reserved (a column of to_frame()); rename that tag or field")
    return {"measurement": measurement, "tags": dict(tags), "fields": {k: v for k, v in fields.items()}}


def generate_columns(p: dict[str, Any]) -> Columns:
    """Run the shape for normalized parameters ``p``."""
    fn = SHAPES[p["shape"]]
    kwargs: dict[str, Any] = {"hosts": p["hosts"], "points": p["points"], "rng": make_rng(p["seed"], p["shape"]),
                              "start_ns": p["start_ns"], "interval_ns": p["interval_ns"]}
    if p["shape"] == "custom":
        kwargs.update(measurement=p["measurement"], tags=p["tags"], fields=p["fields"])
    return fn(**kwargs)


class SeriesFactory:
    """Makes :class:`Series`; the ``influx_series`` fixture is one of these.

    ``factory(shape, *, hosts=10, points=1000, seed=0, **params)``: ``shape`` is one of
    ``simple``, ``cpu-only``, ``devops``, ``iot``, ``custom``; ``points`` is the total number
    of lines across hosts and measurements (``devops`` writes 9 per host per tick, ``iot`` 2
    per truck per tick before its drops; a last tick may be cut short). ``hosts`` is the
    number of hosts (``iot``: trucks; ``simple``: ``serverNN`` tag values; ``custom``: the
    default ``host`` tag's cardinality). Common params: ``start`` (ns, ISO text or an
    aware datetime; default 2016-01-01T00:00:00Z as TSBS), ``interval_s`` (between ticks;
    ``simple``: between lines, default 0.001), ``precision`` (``ns``, ``us``, ``ms``, ``s``),
    ``align_now=True`` (the last point falls at now, rounded down to the interval, so
    "last hour" queries find data; ``now_ns`` pins "now"). ``custom`` also takes
    ``measurement``, ``tags`` and ``fields`` (see :func:`shapes.custom`).

    Rendered series are cached under ``cache_dir`` (``None``: no cache). The entry is
    written on a background thread (:meth:`flush` waits for it); the least recently used
    entries are deleted once the folder holds more than ``max_cache_bytes`` (8 GiB).
    """

    def __init__(self, cache_dir: Path | None, *, max_cache_bytes: int = 8 << 30) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_cache_bytes = max_cache_bytes
        self._pending: dict[Path, threading.Thread] = {}
        #: Cache writes that failed (a full disk, a read-only folder): the series were fine.
        self.cache_errors: list[OSError] = []

    def flush(self) -> None:
        """Wait for cache entries still being written in the background."""
        while self._pending:
            _, thread = self._pending.popitem()
            thread.join()

    def _store_later(self, path: Path, ends: np.ndarray, payload: np.ndarray, meta: dict[str, Any]) -> None:
        """Write the entry on a background thread: the caller has its series already.

        zlib and file writes release the GIL, so this mostly overlaps with the test.
        """
        def store() -> None:
            try:
                _cache.store(path, ends, payload, meta)
                _cache.evict(path.parent, self.max_cache_bytes)
            except OSError as exc:
                self.cache_errors.append(exc)

        thread = threading.Thread(target=store, name="influxperf-series-cache", daemon=False)
        thread.start()
        self._pending[path] = thread

    def __call__(self, shape: str, *, hosts: int = 10, points: int = 1000, seed: int = 0,
                 **params: Any) -> Series:
        p = normalize(shape, hosts, points, seed, params)
        payload, ends, meta, status = self._rendered(p)
        series = Series(shape=shape, params=p, payload=payload, ends=ends, meta=meta,
                        columns=lambda: generate_columns(p), cache_status=status)
        if params.get("align_now"):
            self.flush()  # the shift rewrites the bytes a pending cache write is reading
            now = params.get("now_ns", time.time_ns())
            step = max(meta["interval_ns"], PRECISIONS[p["precision"]])
            series._shift((int(now) // step) * step - meta["end_ns"])
        return series

    def _rendered(self, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any], str]:
        path = self.cache_dir / f"{_cache.cache_key(p)}.lp" if self.cache_dir is not None else None
        status = "off"
        if path is not None:
            pending = self._pending.pop(path, None)
            if pending is not None:
                pending.join()
            entry = _cache.load(path)
            if entry is not None:
                _cache.touch(path)
                return entry.payload, entry.ends, entry.meta, "hit"
            status = "rebuilt" if path.exists() else "miss"
        cols = generate_columns(p)
        payload, ends = render_columns(cols, p["precision"])
        meta = columns_meta(cols)
        if path is not None:
            self._store_later(path, ends, payload, meta)
        return payload, ends, meta, status
