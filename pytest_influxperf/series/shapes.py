"""The data shapes: TSBS's ``cpu-only``, ``devops`` and ``iot``, the guide's ``simple``, ``custom``.

A shape turns its parameters and a seed into :class:`Columns`: numbers in numpy arrays,
one row per *sample* (one entity at one tick) and one :class:`MeasurementColumns` per
measurement written for each sample. Rendering to line protocol is ``series.py``'s job.

Line order is tick-major, as TSBS writes it: at each tick every entity (host, truck,
series) in turn, and for each entity every measurement of the shape. ``points`` is the
total number of lines; when it is not a multiple of the lines per tick, the last tick is
cut short (its first entities only). ``iot`` drops and delays lines on purpose (see
:func:`iot`), so there ``points`` is the number of lines left after that.

Values are TSBS's: clamped random walks (``cpu``'s usage fields, bounded gauges), monotonic
walks (counters), written as integers where TSBS writes integers. Floats are written with a
fixed number of decimals (see each shape) so that the frame and the server hold the same
double: the frame's value is ``scaled / 10**decimals``, the nearest double to the text.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EncodingError
from .threads import ordered_map
from .walks import clamped_walk, free_walk, monotonic_walk

TSBS_START_NS = 1_451_606_400_000_000_000  # 2016-01-01T00:00:00Z, TSBS's default start
FIELD_TYPES = ("float", "int", "bool", "str")


@dataclass
class FieldColumn:
    """One field's values per sample: ints, floats as scaled ints, bools, or string codes."""

    name: str
    kind: str
    values: np.ndarray
    decimals: int = 0
    choices: list[str] | None = None
    present: np.ndarray | None = None  # False where the point leaves this field out
    bounds: tuple[int, int] | None = None  # (min, max) of ``values`` when known cheaply

    def as_python(self, idx: np.ndarray) -> np.ndarray:
        """The values the server will hold for samples ``idx``, as a numpy column."""
        v = self.values[idx]
        if self.kind == "float":
            return v / float(10**self.decimals)
        if self.kind == "bool":
            return v.astype(bool)
        if self.kind == "str":
            assert self.choices is not None
            return np.asarray(self.choices, dtype=object)[v]
        return v.astype(np.int64)


@dataclass
class MeasurementColumns:
    """A measurement: its tag sets (shared, by code per sample), extra UUID tags and fields."""

    name: str
    tag_keys: list[str]
    tagsets: list[tuple[str | None, ...]]  # values in tag_keys order; None leaves the tag out
    tagset_codes: np.ndarray
    fields: list[FieldColumn]
    uuid_tags: dict[str, np.ndarray] = field(default_factory=dict)  # key -> (samples, 16) bytes


@dataclass
class Columns:
    """What a shape generated: per-sample times and measurements, and the line order."""

    measurements: list[MeasurementColumns]
    times_ns: np.ndarray
    n_lines: int
    interval_ns: int
    rows: np.ndarray | None = None  # emission order of (sample * m + j); None: natural order

    def line_rows(self) -> np.ndarray:
        """Global row ids (``sample * m + measurement``) of the lines, in write order."""
        if self.rows is not None:
            return self.rows
        return np.arange(self.n_lines, dtype=np.int64)


def make_rng(seed: int, shape: str) -> np.random.Generator:
    """The generator of a shape's numbers: the seed and the shape's name, nothing else."""
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, zlib.crc32(shape.encode())])


def _sizes(points: int, entities: int, per_sample: int) -> tuple[int, int]:
    """(ticks, samples) needed for ``points`` lines with ``per_sample`` lines per sample."""
    samples_needed = -(-points // per_sample)
    ticks = max(1, -(-samples_needed // entities))
    return ticks, ticks * entities


def _tick_times(start_ns: int, interval_ns: int, ticks: int, entities: int) -> np.ndarray:
    return np.repeat(start_ns + np.arange(ticks, dtype=np.int64) * interval_ns, entities)


# ----------------------------------------------------------------------------- simple


def simple(*, hosts: int, points: int, rng: np.random.Generator, start_ns: int,
           interval_ns: int | None) -> Columns:
    """The guide's lines: ``benchmark,host=serverNN value=<i> <t>``.

    As in the guide, line ``i`` goes to ``server{i % hosts:02d}``, carries ``value=i`` (a
    float field: no ``i`` suffix) and the time ``start + i * interval`` (default 1 ms).
    """
    step = interval_ns if interval_ns is not None else 1_000_000
    i = np.arange(points, dtype=np.int64)
    host_names = [f"server{h:02d}" for h in range(hosts)]
    meas = MeasurementColumns(
        name="benchmark", tag_keys=["host"], tagsets=[(h,) for h in host_names],
        tagset_codes=i % hosts, fields=[FieldColumn("value", "float", i, decimals=0)])
    return Columns([meas], start_ns + i * step, points, step)


# ------------------------------------------------------------------------ TSBS devops

_REGIONS = {
    "us-east-1": ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1e"],
    "us-west-1": ["us-west-1a", "us-west-1b"],
    "us-west-2": ["us-west-2a", "us-west-2b", "us-west-2c"],
    "eu-west-1": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
    "eu-central-1": ["eu-central-1a", "eu-central-1b"],
    "ap-southeast-1": ["ap-southeast-1a", "ap-southeast-1b"],
    "ap-southeast-2": ["ap-southeast-2a", "ap-southeast-2b"],
    "ap-northeast-1": ["ap-northeast-1a", "ap-northeast-1c"],
    "sa-east-1": ["sa-east-1a", "sa-east-1b", "sa-east-1c"],
}
HOST_TAG_KEYS = ["hostname", "region", "datacenter", "rack", "os", "arch", "team", "service",
                 "service_version", "service_environment"]
CPU_FIELDS = ["usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait",
              "usage_irq", "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"]


def _host_tags(hosts: int, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """TSBS's ten tags per host: name, region and datacenter, rack, os, arch, team, service."""
    regions = list(_REGIONS)
    out = []
    for h in range(hosts):
        region = regions[rng.integers(len(regions))]
        dcs = _REGIONS[region]
        out.append((
            f"host_{h}", region, dcs[rng.integers(len(dcs))], str(rng.integers(100)),
            ["Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"][rng.integers(3)],
            ["x64", "x86"][rng.integers(2)], ["SF", "NYC", "LON", "CHI"][rng.integers(4)],
            str(rng.integers(20)), str(rng.integers(2)),
            ["production", "staging", "test"][rng.integers(3)],
        ))
    return out


def _normals(rng: np.random.Generator, ticks: int, paths: int, mean: float, std: float) -> np.ndarray:
    # float32 steps: half the cost of float64, and the walks accumulate in float64.
    steps = rng.standard_normal((ticks, paths), dtype=np.float32)
    if std != 1.0:
        steps *= np.float32(std)
    if mean:
        steps += np.float32(mean)
    return steps


def _int_fields(names: list[str], states: np.ndarray) -> list[FieldColumn]:
    """(ticks, hosts*k) walk states -> one int field per name, samples in tick-major order."""
    ticks = states.shape[0]
    k = len(names)
    grid = states.reshape(ticks, -1, k)  # (ticks, hosts, k); each field a strided view, no copy
    lo = np.floor(grid.min(axis=(0, 1))).astype(np.int64)
    hi = np.floor(grid.max(axis=(0, 1))).astype(np.int64)
    if lo.size and lo.min() >= 0 and hi.max() < 256:
        # Percentages: astype truncates, which is floor here, into an eighth of the memory.
        flat = grid.astype(np.uint8)
    else:
        flat = (grid if lo.min(initial=0) >= 0 else np.floor(grid)).astype(np.int64)
    return [FieldColumn(n, "int", flat[:, :, j].reshape(-1), bounds=(int(lo[j]), int(hi[j])))
            for j, n in enumerate(names)]


WALK_SPLITS = 2  # fixed, so that the data never depends on the machine's core count


def _cpu(rng: np.random.Generator, ticks: int, hosts: int) -> list[FieldColumn]:
    """The ten usage fields; the walks are split in two independent streams, walked in parallel."""
    paths = hosts * len(CPU_FIELDS)
    starts = rng.random(paths) * 100.0
    streams = rng.spawn(WALK_SPLITS)
    cuts = np.linspace(0, paths, WALK_SPLITS + 1).astype(int)
    states = np.empty((ticks, paths), dtype=np.float32)

    def walk(i: int) -> None:
        a, b = int(cuts[i]), int(cuts[i + 1])
        if b > a:
            clamped_walk(_normals(streams[i], ticks, b - a, 0.0, 1.0), starts[a:b], 0.0, 100.0,
                         dtype=np.float32, out=states[:, a:b])

    list(ordered_map(walk, range(WALK_SPLITS)))
    return _int_fields(CPU_FIELDS, states)


def _monotonic(rng: np.random.Generator, ticks: int, hosts: int, spec: list[tuple[str, float]]) -> list[FieldColumn]:
    """Counters: TSBS's ``MWD(ND(mean, 1), 0)`` per field."""
    means = np.tile(np.array([m for _, m in spec], dtype=np.float32), hosts)
    steps = rng.standard_normal((ticks, hosts * len(spec)), dtype=np.float32) + means
    return _int_fields([n for n, _ in spec], monotonic_walk(steps))


def _clamped(rng: np.random.Generator, ticks: int, hosts: int,
             spec: list[tuple[str, float, float, float]]) -> list[FieldColumn]:
    """Bounded gauges: TSBS's ``CWD(ND(mean, 1), 0, hi, start)`` per field."""
    k = len(spec)
    means = np.tile(np.array([m for _, m, _, _ in spec], dtype=np.float32), hosts)
    his = np.tile(np.array([h for _, _, h, _ in spec]), hosts)
    starts = np.tile(np.array([s for _, _, _, s in spec]), hosts)
    steps = rng.standard_normal((ticks, hosts * k), dtype=np.float32) + means
    return _int_fields([n for n, *_ in spec], clamped_walk(steps, starts, 0.0, his))


def _with_host_tags(name: str, host_tags: list[tuple[str, ...]], extra_keys: list[str],
                    extra: list[tuple[str, ...]], ticks: int, fields: list[FieldColumn]) -> MeasurementColumns:
    hosts = len(host_tags)
    tagsets = [host_tags[h] + (extra[h] if extra_keys else ()) for h in range(hosts)]
    codes = np.tile(np.arange(hosts, dtype=np.int64), ticks)
    return MeasurementColumns(name, HOST_TAG_KEYS + extra_keys, tagsets, codes, fields)


def cpu_only(*, hosts: int, points: int, rng: np.random.Generator, start_ns: int,
             interval_ns: int | None) -> Columns:
    """TSBS ``cpu-only``: one ``cpu`` line per host per tick (default every 10 s).

    Ten integer fields, each TSBS's ``CWD(ND(0, 1), 0, 100, U(0, 100))``: a random walk
    with standard normal steps clamped to [0, 100], written truncated to an integer as
    TSBS does (``usage_user=58i``).
    """
    step = interval_ns if interval_ns is not None else 10_000_000_000
    ticks, samples = _sizes(points, hosts, 1)
    host_tags = _host_tags(hosts, rng)
    meas = _with_host_tags("cpu", host_tags, [], [], ticks, _cpu(rng, ticks, hosts))
    return Columns([meas], _tick_times(start_ns, step, ticks, hosts), points, step)


def devops(*, hosts: int, points: int, rng: np.random.Generator, start_ns: int,
           interval_ns: int | None) -> Columns:
    """TSBS ``devops``: nine lines per host per tick (cpu, diskio, disk, kernel, mem, net,
    nginx, postgresql, redis) with TSBS's fields, extra tags and distributions."""
    step = interval_ns if interval_ns is not None else 10_000_000_000
    ticks, samples = _sizes(points, hosts, 9)
    host_tags = _host_tags(hosts, rng)
    per_host = lambda fmt: [fmt(h) for h in range(hosts)]  # noqa: E731
    ri = lambda n: int(rng.integers(n))  # noqa: E731
    meas = []
    meas.append(_with_host_tags("cpu", host_tags, [], [], ticks, _cpu(rng, ticks, hosts)))
    serials = per_host(lambda h: (f"{ri(1000):03d}-{ri(1000):03d}-{ri(1000):03d}",))
    meas.append(_with_host_tags("diskio", host_tags, ["serial"], serials, ticks, _monotonic(
        rng, ticks, hosts, [("reads", 50), ("writes", 50), ("read_bytes", 100), ("write_bytes", 100),
                            ("read_time", 5), ("write_time", 5), ("io_time", 5)])))
    disk_tags = per_host(lambda h: (f"/dev/sda{ri(10)}", ["ext3", "ext4", "btrfs"][ri(3)]))
    meas.append(_with_host_tags("disk", host_tags, ["path", "fstype"], disk_tags, ticks, _disk(rng, ticks, hosts)))
    boot = np.repeat(rng.integers(0, 240, hosts)[None, :], ticks, axis=0).reshape(-1)
    kernel = [FieldColumn("boot_time", "int", boot)] + _monotonic(
        rng, ticks, hosts, [(n, 5) for n in ("interrupts", "context_switches", "processes_forked",
                                             "disk_pages_in", "disk_pages_out")])
    meas.append(_with_host_tags("kernel", host_tags, [], [], ticks, kernel))
    meas.append(_with_host_tags("mem", host_tags, [], [], ticks, _mem(rng, ticks, hosts)))
    ifaces = per_host(lambda h: (f"eth{ri(4)}",))
    meas.append(_with_host_tags("net", host_tags, ["interface"], ifaces, ticks, _monotonic(
        rng, ticks, hosts, [("bytes_sent", 50), ("bytes_recv", 50), ("packets_sent", 50), ("packets_recv", 50),
                            ("err_in", 5), ("err_out", 5), ("drop_in", 5), ("drop_out", 5)])))
    nginx_tags = per_host(lambda h: (str(ri(20000) + 1024), f"nginx_{ri(100000)}"))
    nginx = _monotonic(rng, ticks, hosts, [("accepts", 5), ("handled", 5), ("requests", 5)]) + _clamped(
        rng, ticks, hosts, [(n, 5, 100, 0) for n in ("active", "reading", "waiting", "writing")])
    order = ["accepts", "active", "handled", "reading", "requests", "waiting", "writing"]
    nginx.sort(key=lambda f: order.index(f.name))
    meas.append(_with_host_tags("nginx", host_tags, ["port", "server"], nginx_tags, ticks, nginx))
    pg = [(n, 5, 1000, 0) for n in ("numbackends", "xact_commit", "xact_rollback", "blks_read", "blks_hit",
                                    "tup_returned", "tup_fetched", "tup_inserted", "tup_updated",
                                    "tup_deleted", "conflicts", "temp_files")]
    pg += [("temp_bytes", 1024, 1024**3, 0)] + [(n, 5, 1000, 0) for n in ("deadlocks", "blk_read_time",
                                                                           "blk_write_time")]
    meas.append(_with_host_tags("postgresql", host_tags, [], [], ticks, _clamped(rng, ticks, hosts, pg)))
    redis_tags = per_host(lambda h: (str(ri(20000) + 1024), f"redis_{ri(100000)}"))
    meas.append(_with_host_tags("redis", host_tags, ["port", "server"], redis_tags, ticks,
                                _redis(rng, ticks, hosts, step)))
    return Columns(meas, _tick_times(start_ns, step, ticks, hosts), points, step)


def _disk(rng: np.random.Generator, ticks: int, hosts: int) -> list[FieldColumn]:
    tb = float(1 << 40)
    free = np.floor(clamped_walk(_normals(rng, ticks, hosts, 50.0, 1.0), np.full(hosts, tb / 2), 0.0, tb))
    free = free.astype(np.int64).reshape(-1)
    total = np.full_like(free, 1 << 40)
    used = total - free
    inodes_total = total // 4096
    inodes_free = free // 4096
    cols = [("total", total), ("free", free), ("used", used),
            ("used_percent", (100.0 * (used / total)).astype(np.int64)),
            ("inodes_total", inodes_total), ("inodes_free", inodes_free),
            ("inodes_used", inodes_total - inodes_free)]
    return [FieldColumn(n, "int", v) for n, v in cols]


def _mem(rng: np.random.Generator, ticks: int, hosts: int) -> list[FieldColumn]:
    totals = np.array([8 << 30, 12 << 30, 16 << 30], dtype=np.int64)[rng.integers(0, 3, hosts)]
    tot_f = np.tile(totals.astype(np.float64), 3)
    steps = rng.standard_normal((ticks, hosts * 3), dtype=np.float32) * (tot_f / 64).astype(np.float32)
    states = clamped_walk(steps, rng.random(hosts * 3) * tot_f, 0.0, tot_f)
    used, cached, buffered = (np.floor(states[:, k * hosts:(k + 1) * hosts]).astype(np.int64).reshape(-1)
                              for k in range(3))
    total = np.tile(totals, ticks)
    available = total - used

    def pct(x: np.ndarray) -> np.ndarray:  # two decimals, as scaled integers
        return np.floor(x * 10_000.0 / total + 0.5).astype(np.int64)

    return [FieldColumn("total", "int", total), FieldColumn("available", "int", available),
            FieldColumn("used", "int", used), FieldColumn("free", "int", available),
            FieldColumn("cached", "int", cached), FieldColumn("buffered", "int", buffered),
            FieldColumn("used_percent", "float", pct(used), decimals=2),
            FieldColumn("available_percent", "float", pct(available), decimals=2),
            FieldColumn("buffered_percent", "float", pct(buffered), decimals=2)]


def _redis(rng: np.random.Generator, ticks: int, hosts: int, step_ns: int) -> list[FieldColumn]:
    sixteen = float(16 << 30)
    uptime = np.repeat((np.arange(1, ticks + 1, dtype=np.int64) * step_ns // 1_000_000_000), hosts)
    fields = [FieldColumn("uptime_in_seconds", "int", uptime)]
    fields += _monotonic(rng, ticks, hosts, [("total_connections_received", 5), ("expired_keys", 50),
                                             ("evicted_keys", 50), ("keyspace_hits", 50),
                                             ("keyspace_misses", 50)])
    walks = free_walk(_normals(rng, ticks, hosts * 3, 1.0, 1.0))
    fields += _int_fields(["instantaneous_ops_per_sec", "instantaneous_input_kbps",
                           "instantaneous_output_kbps"], walks)
    spec = [("connected_clients", 50, 10000, 0)] + [(n, 50, sixteen, sixteen / 2) for n in (
        "used_memory", "used_memory_rss", "used_memory_peak", "used_memory_lua")]
    spec += [("rdb_changes_since_last_save", 50, 10000, 0)]
    spec += [(n, 5, 1000, 0) for n in ("sync_full", "sync_partial_ok", "sync_partial_err", "pubsub_channels",
                                       "pubsub_patterns", "latest_fork_usec", "connected_slaves",
                                       "master_repl_offset", "repl_backlog_active", "repl_backlog_size",
                                       "repl_backlog_histlen")]
    spec += [("mem_fragmentation_ratio", 5, 100, 0)]
    spec += [(n, 5, 1000, 0) for n in ("used_cpu_sys", "used_cpu_user", "used_cpu_sys_children",
                                       "used_cpu_user_children")]
    return fields + _clamped(rng, ticks, hosts, spec)


# ------------------------------------------------------------------------------ TSBS iot

TRUCK_TAG_KEYS = ["name", "fleet", "driver", "model", "device_version", "load_capacity",
                  "fuel_capacity", "nominal_fuel_consumption"]
_MODELS = [("F-150", "2000", "200", "15"), ("G-2000", "5000", "300", "19"), ("H-2", "1500", "150", "12")]

# TSBS iot batch_config.go chances (batches of 10 lines).
IOT_BATCH = 10
IOT_BATCH_MISSING = 0.01
IOT_BATCH_LATE = 0.05
IOT_ENTRY_MISSING = 0.1
IOT_ENTRY_LATE = 0.3
IOT_INSERT_PREVIOUS = 0.5
IOT_ZERO_FIELD = 0.1
IOT_ZERO_TAG = 0.01


def iot(*, hosts: int, points: int, rng: np.random.Generator, start_ns: int,
        interval_ns: int | None) -> Columns:
    """TSBS ``iot``: ``readings`` and ``diagnostics`` per truck per tick, with its flaws.

    As TSBS's simulator does, in batches of 10 lines: 1 % of batches and 10 % of lines go
    missing; 5 % of batches and 30 % of lines arrive late, each re-inserted after a number
    of batches drawn with TSBS's 50 % chance per batch (a geometric delay, where TSBS
    keeps a queue); 10 % of lines leave one field out and 1 % leave one tag out. Unlike
    TSBS the ``name`` tag is never left out, so no two trucks' lines can merge into one
    series and overwrite each other.
    """
    step = interval_ns if interval_ns is not None else 10_000_000_000
    trucks = hosts
    tags = []
    for t in range(trucks):
        model = _MODELS[rng.integers(len(_MODELS))]
        tags.append((f"truck_{t}", ["East", "West", "North", "South"][rng.integers(4)],
                     ["Derek", "Rodney", "Albert", "Andy", "Seth", "Trish"][rng.integers(6)], model[0],
                     ["v1.0", "v1.5", "v2.0", "v2.3"][rng.integers(4)], model[1], model[2], model[3]))
    # Enough rows that, after drops, ``points`` remain; grow if the draw was unlucky.
    want = int(points / ((1 - IOT_ENTRY_MISSING) * (1 - IOT_BATCH_MISSING)) * 1.02) + 2 * IOT_BATCH
    while True:
        ticks, samples = _sizes(want, trucks, 2)
        order_rng = np.random.default_rng(rng.integers(2**63))
        rows = _iot_order(order_rng, samples * 2)
        if rows.shape[0] >= points:
            break
        want = int(want * 1.2) + 100
    rows = rows[:points]
    value_rng = np.random.default_rng(rng.integers(2**63))
    readings, diagnostics = _iot_measurements(value_rng, ticks, trucks, tags)
    flaw_rng = np.random.default_rng(rng.integers(2**63))
    for j, meas in enumerate((readings, diagnostics)):
        _iot_zero(flaw_rng, meas, trucks)
    return Columns([readings, diagnostics], _tick_times(start_ns, step, ticks, trucks), points, step, rows)


def _iot_order(rng: np.random.Generator, n: int) -> np.ndarray:
    """Emission order of ``n`` rows after TSBS-style missing and late lines and batches."""
    batches = -(-n // IOT_BATCH)
    pos = np.arange(n, dtype=np.float64)
    batch_of = np.arange(n) // IOT_BATCH
    keep = rng.random(n) >= IOT_ENTRY_MISSING
    keep &= (rng.random(batches) >= IOT_BATCH_MISSING)[batch_of]
    late_entry = rng.random(n) < IOT_ENTRY_LATE
    late_batch = (rng.random(batches) < IOT_BATCH_LATE)[batch_of]
    # Each later batch takes a pending line with 50 % chance: a geometric delay in batches.
    entry_delay = rng.geometric(IOT_INSERT_PREVIOUS, n) * IOT_BATCH
    batch_delay = rng.geometric(IOT_INSERT_PREVIOUS, batches)[batch_of] * IOT_BATCH
    key = pos + np.where(late_entry, entry_delay + 0.5, 0) + np.where(late_batch, batch_delay + 0.25, 0)
    kept = np.flatnonzero(keep)
    return kept[np.argsort(key[kept], kind="stable")].astype(np.int64)


def _iot_measurements(rng: np.random.Generator, ticks: int, trucks: int,
                      tags: list[tuple[str, ...]]) -> tuple[MeasurementColumns, MeasurementColumns]:
    def walk(step_lo: float, step_hi: float, lo: float, hi: float, start: np.ndarray, decimals: int) -> np.ndarray:
        steps = rng.uniform(step_lo, step_hi, (ticks, trucks))
        states = clamped_walk(steps, start, lo, hi)
        return np.floor(states * 10**decimals + 0.5).astype(np.int64).reshape(-1)

    def col(name: str, scaled: np.ndarray, decimals: int) -> FieldColumn:
        return FieldColumn(name, "float", scaled, decimals=decimals)

    readings_fields = [
        col("latitude", walk(-0.005, 0.005, -90, 90, rng.random(trucks) * 90, 5), 5),
        col("longitude", walk(-0.005, 0.005, -180, 180, rng.random(trucks) * 180, 5), 5),
        col("elevation", walk(-10, 10, 0, 5000, rng.random(trucks) * 500, 0), 0),
        col("velocity", walk(-10, 10, 0, 100, np.zeros(trucks), 0), 0),
        col("heading", walk(-5, 5, 0, 360, rng.random(trucks) * 360, 0), 0),
        col("grade", walk(-5, 5, 0, 100, np.zeros(trucks), 0), 0),
        col("fuel_consumption", walk(-5, 5, 0, 50, np.full(trucks, 25.0), 1), 1),
    ]
    # Fuel drains and is refilled when empty (TSBS's customFuelDistribution).
    drain = np.cumsum(rng.uniform(0, 0.001, (ticks, trucks)), axis=0)
    fuel = 1.0 - np.mod(drain, 1.0)
    # Load: kept with 95 % chance per tick, else a new uniform draw (TSBS's LD).
    change = rng.random((ticks, trucks)) < 0.05
    change[0] = True
    new_load = rng.uniform(0, 5000, (ticks, trucks))
    idx = np.maximum.accumulate(np.where(change, np.arange(ticks)[:, None], 0), axis=0)
    load = np.take_along_axis(new_load, idx, axis=0)
    status = np.floor(clamped_walk(rng.standard_normal((ticks, trucks)), np.zeros(trucks), 0, 5))
    diagnostics_fields = [
        col("fuel_state", np.floor(fuel * 10 + 0.5).astype(np.int64).reshape(-1), 1),
        col("current_load", np.floor(load + 0.5).astype(np.int64).reshape(-1), 0),
        FieldColumn("status", "int", status.astype(np.int64).reshape(-1)),
    ]
    codes = np.tile(np.arange(trucks, dtype=np.int64), ticks)
    readings = MeasurementColumns("readings", list(TRUCK_TAG_KEYS), list(tags), codes, readings_fields)
    diagnostics = MeasurementColumns("diagnostics", list(TRUCK_TAG_KEYS), list(tags), codes.copy(),
                                     diagnostics_fields)
    return readings, diagnostics


def _iot_zero(rng: np.random.Generator, meas: MeasurementColumns, trucks: int) -> None:
    """Leave one field out of 10 % of lines and one tag (never ``name``) out of 1 %."""
    n = meas.tagset_codes.shape[0]
    which = np.where(rng.random(n) < IOT_ZERO_FIELD, rng.integers(0, len(meas.fields), n), -1)
    for k, f in enumerate(meas.fields):
        f.present = which != k
    ntags = len(meas.tag_keys)
    drop_tag = np.where(rng.random(n) < IOT_ZERO_TAG, rng.integers(1, ntags, n), 0)
    # Tag set variants: code = truck * ntags + dropped tag index (0: none dropped).
    variants = []
    for t in range(trucks):
        base = meas.tagsets[t]
        variants.append(base)
        for d in range(1, ntags):
            variants.append(tuple(None if i == d else v for i, v in enumerate(base)))
    meas.tagset_codes = meas.tagset_codes * ntags + drop_tag
    meas.tagsets = variants


# --------------------------------------------------------------------------- custom


def custom(*, hosts: int, points: int, rng: np.random.Generator, start_ns: int, interval_ns: int | None,
           measurement: str = "custom", tags: Mapping[str, int | str] | None = None,
           fields: Mapping[str, str | Mapping[str, Any]] | None = None) -> Columns:
    """Your own measurement: tags with cardinalities, typed fields with distributions.

    ``tags`` maps a key to a cardinality (values ``<key>_0`` .. ``<key>_<n-1>``) or to
    ``"uuid"`` (a fresh UUID on every point: the high-cardinality anti-pattern). Default:
    ``{"host": hosts}``. Every combination of the counted tags is one series; line ``i``
    goes to series ``i % S`` at tick ``i // S`` (default every 10 s).

    ``fields`` maps a name to a type (``float``, ``int``, ``bool``, ``str``) or a spec:
    ``{"type": "float", "dist": "walk"|"uniform"|"normal"|"constant", "min": .., "max": ..,
    "mean": .., "std": .., "decimals": 3}``; ``{"type": "str", "cardinality": 10}`` or
    ``{"type": "str", "choices": [...]}``; ``{"type": "bool", "p": 0.5}``. Default:
    ``{"value": "float"}``.
    """
    step = interval_ns if interval_ns is not None else 10_000_000_000
    tag_spec = dict(tags) if tags is not None else {"host": hosts}
    specs = dict(fields) if fields is not None else {"value": "float"}
    counted = {k: v for k, v in tag_spec.items() if v != "uuid"}
    series = math.prod(counted.values()) if counted else 1
    ticks = max(1, -(-points // series))
    samples = points
    i = np.arange(samples, dtype=np.int64)
    sid, tick = i % series, i // series
    keys = list(counted)
    tagsets = []
    for s in range(series):
        vals, rest = [], s
        for k in reversed(keys):
            vals.append(f"{k}_{rest % counted[k]}")
            rest //= counted[k]
        tagsets.append(tuple(reversed(vals)))
    uuid_tags = {k: rng.integers(0, 256, (samples, 16), dtype=np.uint8) for k, v in tag_spec.items() if v == "uuid"}
    cols = [_custom_field(rng, name, field_spec(name, spec), ticks, series, sid, tick)
            for name, spec in specs.items()]
    meas = MeasurementColumns(measurement, keys, tagsets, sid, cols, uuid_tags)
    return Columns([meas], start_ns + tick * step, points, step)


def field_spec(name: str, spec: str | Mapping[str, Any]) -> dict[str, Any]:
    """A custom field's spec as a dict with a valid ``type`` (a bare type name is allowed)."""
    out = {"type": spec} if isinstance(spec, str) else dict(spec)
    if out.get("type") not in FIELD_TYPES:
        raise ValueError(f"field {name!r}: type {out.get('type')!r} is not one of {', '.join(FIELD_TYPES)}")
    return out


def _custom_field(rng: np.random.Generator, name: str, spec: dict[str, Any], ticks: int, series: int,
                  sid: np.ndarray, tick: np.ndarray) -> FieldColumn:
    kind = spec["type"]
    if kind == "bool":
        return FieldColumn(name, "bool", (rng.random(sid.shape[0]) < float(spec.get("p", 0.5))).astype(np.int64))
    if kind == "str":
        choices = list(spec.get("choices") or [f"{name}_{k}" for k in range(int(spec.get("cardinality", 10)))])
        if not choices:
            raise ValueError(f"field {name!r}: a str field needs at least one choice")
        return FieldColumn(name, "str", rng.integers(0, len(choices), sid.shape[0]), choices=choices)
    dist = spec.get("dist", "walk")
    lo, hi = float(spec.get("min", 0.0)), float(spec.get("max", 100.0))
    if dist == "walk":
        grid = clamped_walk(rng.normal(0.0, float(spec.get("std", 1.0)), (ticks, series)),
                            rng.uniform(lo, hi, series), lo, hi)
        values = grid[tick, sid]
    elif dist == "uniform":
        values = rng.uniform(lo, hi, sid.shape[0])
    elif dist == "normal":
        values = rng.normal(float(spec.get("mean", 0.0)), float(spec.get("std", 1.0)), sid.shape[0])
    elif dist == "constant":
        values = np.full(sid.shape[0], float(spec.get("value", lo)))
    else:
        raise ValueError(f"field {name!r}: dist {dist!r} is not one of walk, uniform, normal, constant")
    if kind == "int":
        return FieldColumn(name, "int", np.floor(values).astype(np.int64))
    decimals = int(spec.get("decimals", 3))
    if not 0 <= decimals <= 9:
        raise ValueError(f"field {name!r}: decimals must be 0..9, not {decimals}")
    scaled = np.floor(values * 10**decimals + 0.5)
    if np.abs(scaled).max(initial=0) >= 2**53:
        raise EncodingError(f"field {name!r}: values reach {np.abs(values).max():g}, too large for "
                            f"{decimals} exact decimals; lower 'decimals' or the range")
    return FieldColumn(name, "float", scaled.astype(np.int64), decimals=decimals)


ShapeFn = Callable[..., Columns]
SHAPES: dict[str, ShapeFn] = {"simple": simple, "cpu-only": cpu_only, "devops": devops, "iot": iot,
                              "custom": custom}
