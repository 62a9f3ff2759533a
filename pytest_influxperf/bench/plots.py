"""PNG charts of a run: batch-size curve, writer scaling, latency percentiles, and
baseline against current.

Charts are drawn on ``matplotlib.figure.Figure`` with the Agg canvas, never through
``pyplot``, so that writing them neither needs a display nor changes the backend of a
user's own session. A chart whose data the run did not record is skipped, not drawn empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .recorder import INFO_BATCH_SIZE, INFO_WORKERS
from .report import short_name

_STATUS_COLOUR = {"regression": "#c0392b", "improvement": "#27ae60", "unconfirmed": "#e67e22"}


def _rate_metric(bench: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for name, metric in sorted((bench.get("metrics") or {}).items()):
        if metric.get("unit", "").endswith("points/s"):
            return name, metric
    return None


def _curves(report: Mapping[str, Any], key: str) -> dict[str, list[tuple[float, float]]]:
    """``{test function: [(info[key], points/s), ...]}`` for the parametrized benchmarks
    that recorded ``key``; a curve needs two or more distinct x values."""
    curves: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for nodeid, bench in report["benchmarks"].items():
        x = (bench.get("info") or {}).get(key)
        rate = _rate_metric(bench)
        if isinstance(x, (int, float)) and not isinstance(x, bool) and rate is not None:
            # One curve per test function: test_batch_size[100], [500], ... share one.
            function = short_name(nodeid).split("[", 1)[0]
            curves[function].append((float(x), float(rate[1]["value"])))
    return {f: sorted(points) for f, points in curves.items()
            if len({x for x, _ in points}) >= 2}


def _figure(width: float = 8.0, height: float = 4.5) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _curve_chart(curves: dict[str, list[tuple[float, float]]], title: str, xlabel: str,
                 tier: str, log_x: bool) -> Any:
    fig = _figure()
    ax = fig.add_subplot()
    for group, points in sorted(curves.items()):
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", label=group)
        for x, y in points:
            ax.annotate(f"{y:,.0f}", (x, y), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=7)
    if log_x:
        ax.set_xscale("log")
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_ylabel("points/s (median of rounds)")
    top = max(y for points in curves.values() for _, y in points)
    ax.set_ylim(0, top * 1.12)  # room for the value labels above the highest point
    ax.set_title(f"{title} - tier {tier}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _latency_chart(report: Mapping[str, Any]) -> Any | None:
    bars: list[tuple[str, dict[str, float]]] = []
    for nodeid, bench in report["benchmarks"].items():
        for name, metric in sorted((bench.get("metrics") or {}).items()):
            if metric.get("unit") == "ms" and " latency p" in name:
                prefix, pct = name.rsplit(" latency ", 1)
                label = f"{short_name(nodeid)[:48]} {prefix}"
                if not bars or bars[-1][0] != label:
                    bars.append((label, {}))
                bars[-1][1][pct] = float(metric["value"])
    if not bars:
        return None
    percentiles = sorted({p for _, values in bars for p in values}, key=lambda p: int(p[1:]))
    fig = _figure(9.0, max(3.0, 0.45 * len(bars) * len(percentiles) ** 0.5 + 1.5))
    ax = fig.add_subplot()
    height = 0.8 / len(percentiles)
    for i, pct in enumerate(percentiles):
        ys = [j + i * height for j in range(len(bars))]
        ax.barh(ys, [v.get(pct, 0.0) for _, v in bars], height=height, label=pct)
    ax.set_yticks([j + 0.4 - height / 2 for j in range(len(bars))])
    ax.set_yticklabels([label for label, _ in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("latency, ms")
    ax.set_title(f"Latency percentiles - tier {report['tier']}")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _baseline_chart(report: Mapping[str, Any]) -> Any | None:
    items = []
    for nodeid, bench in report["benchmarks"].items():
        for c in bench.get("comparisons") or []:
            if c.get("change") is not None and c.get("baseline"):
                items.append((f"{short_name(nodeid)[:48]} {c['name']}", c))
    if not items:
        return None
    fig = _figure(9.0, max(3.0, 0.3 * len(items) + 1.5))
    ax = fig.add_subplot()
    ys = range(len(items))
    # Plot "better" to the right for every metric, so one glance reads the whole run.
    better = [c["change"] * 100 * (1 if c["direction"] == "higher" else -1) for _, c in items]
    colours = [_STATUS_COLOUR.get(c["status"], "#7f8c8d") for _, c in items]
    ax.barh(list(ys), better, color=colours)
    for y, (_, c) in zip(ys, items):
        if c.get("tolerance") is not None:
            tol = c["tolerance"] * 100
            ax.plot([-tol, tol], [y, y], color="black", alpha=0.35, linewidth=6,
                    solid_capstyle="butt")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([label for label, _ in items], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("change against baseline, % (right is better; grey band: tolerance)")
    ax.set_title(f"Baseline vs current - tier {report['tier']}")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def write_plots(report: Mapping[str, Any], directory: Path) -> list[Path]:
    """Write every chart the run has data for into ``directory``; return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tier = report["tier"]
    figures: dict[str, Any] = {}
    batch = _curves(report, INFO_BATCH_SIZE)
    if batch:
        figures["batch-size.png"] = _curve_chart(batch, "Write throughput by batch size",
                                                 "batch size, points", tier, log_x=True)
    workers = _curves(report, INFO_WORKERS)
    if workers:
        figures["writer-scaling.png"] = _curve_chart(workers, "Write throughput by writers",
                                                     "concurrent writers", tier, log_x=False)
    for filename, build in (("latency-percentiles.png", _latency_chart),
                            ("baseline-vs-current.png", _baseline_chart)):
        fig = build(report)
        if fig is not None:
            figures[filename] = fig
    paths = []
    for filename, fig in figures.items():
        path = directory / filename
        fig.savefig(path)
        paths.append(path)
    return paths
