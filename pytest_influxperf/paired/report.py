"""The paired gate's verdict as text: terminal table, Markdown, JSON and CSV.

Every rendering takes the frozen :class:`~.judge.GateVerdict` plus a small header (which
revisions, how many pairs), never live state, so each can be tested on its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..bench.gate import format_percent, format_value
from ..files import write_text_atomic
from .judge import GateVerdict, MetricVerdict

FORMAT = "pytest-influxperf paired gate 1"

_ORDER = {"regression": 0, "improvement": 1, "tail": 2, "pass": 3, "not judged": 4,
          "added": 5, "removed": 6}


def short(nodeid: str) -> str:
    """``suites/test_8_2_writes.py::test_batch[5000]`` -> ``test_8_2_writes::test_batch[5000]``."""
    path, sep, rest = nodeid.partition("::")
    return f"{Path(path).stem}{sep}{rest}" if sep else nodeid


def interval(m: MetricVerdict) -> str:
    if m.test is None:
        return "-"
    return (f"{format_percent(m.test.low, signed=True)} .. "
            f"{format_percent(m.test.high, signed=True)}")


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def sorted_metrics(verdict: GateVerdict) -> list[MetricVerdict]:
    """The index first, then regressions, improvements, tails and the rest, each by the
    size of the change."""
    rows = sorted(verdict.metrics, key=lambda m: (_ORDER.get(m.status, 9), -abs(m.change or 0.0)))
    return ([verdict.index] if verdict.index else []) + rows


def to_dict(verdict: GateVerdict, header: Mapping[str, Any]) -> dict[str, Any]:
    """The verdict as a JSON-ready dict."""
    s = verdict.settings
    return {"format": FORMAT, **header, "pairs": verdict.pairs,
            "settings": {"threshold": s.threshold, "alpha": s.alpha,
                         "index_alpha": s.index_alpha, "moderate": s.moderate,
                         "adjustment": s.adjustment, "level": s.level},
            "verdict": "fail" if verdict.failed else "pass", "headline": verdict.headline(),
            "index": verdict.index.to_dict() if verdict.index else None,
            "metrics": [m.to_dict() for m in verdict.metrics],
            "tests": [t.to_dict() for t in verdict.tests], "counts": verdict.counts()}


def terminal_lines(verdict: GateVerdict, header: Mapping[str, Any], *,
                   show_all: bool = False) -> list[str]:
    """The table a person reads in the job log: every metric that is not a plain pass
    (all of them with ``show_all``), then the tests, then the headline."""
    lines = [(f"paired gate: base {header.get('base')} vs head {header.get('head')}, "
             f"{verdict.pairs} pairs, threshold {format_percent(verdict.settings.threshold)}, "
             f"alpha {verdict.settings.alpha:g} ({verdict.settings.adjustment}), index alpha "
             f"{verdict.settings.index_alpha:g}")]
    rows = [m for m in sorted_metrics(verdict)
            if show_all or m.status not in ("pass", "not judged", "tail")
            or m is verdict.index]
    if rows:
        table = [("benchmark", "metric", "base", "head", "change",
                  f"{verdict.settings.level:.0%} interval", "p adj", "verdict")]
        table += [(short(m.benchmark), m.metric, format_value(m.base), format_value(m.head),
                   format_percent(m.change, signed=True), interval(m), _p(m.p_adjusted),
                   m.status) for m in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                  for r in table]
    quiet = sum(m.status == "pass" for m in verdict.metrics)
    tails = sum(m.status == "tail" for m in verdict.metrics)
    if not show_all and (quiet or tails):
        lines.append(f"({quiet} more metric(s) within the threshold or the noise, {tails} tail "
                     "latencies reported, not gated; --all shows them)")
    for t in verdict.tests:
        lines.append(f"{t.status}: {t.test} (failed in {t.base_failed}/{t.base_runs} base, "
                     f"{t.head_failed}/{t.head_runs} head runs)")
    lines.append(verdict.headline())
    return lines


def to_markdown(verdict: GateVerdict, header: Mapping[str, Any]) -> str:
    """Markdown fit for a GitHub step summary: the headline, what failed, then all metrics."""
    mark = "❌" if verdict.failed else "✅"
    s = verdict.settings
    out = [f"## {mark} InfluxDB paired gate", "",
           f"**{verdict.headline()}**", "",
           (f"Base `{header.get('base')}` vs head `{header.get('head')}`; {verdict.pairs} pairs "
           f"run alternately; threshold {format_percent(s.threshold)}, alpha {s.alpha:g} "
           f"after {'Benjamini-Hochberg' if s.adjustment == 'bh' else 'Holm'} over "
           f"{sum(m.status in ('pass', 'regression', 'improvement') for m in verdict.metrics)}"
           " gated metrics."), ""]
    for note in header.get("notes") or []:
        out.append(f"> {note}")
    if verdict.tests:
        out += ["", "| test | status | base failed | head failed |", "|---|---|---|---|"]
        out += [f"| `{t.test}` | {t.status} | {t.base_failed}/{t.base_runs} | "
                f"{t.head_failed}/{t.head_runs} |" for t in verdict.tests]
    out += ["", "| benchmark | metric | base | head | change | interval | p adj | verdict |",
            "|---|---|---:|---:|---:|---|---:|---|"]
    out += [f"| `{short(m.benchmark)}` | {m.metric} | {format_value(m.base)} | "
            f"{format_value(m.head)} | {format_percent(m.change, signed=True)} | "
            f"{interval(m)} | {_p(m.p_adjusted)} | {m.status} |"
            for m in sorted_metrics(verdict)]
    return "\n".join(out) + "\n"


CSV_FIELDS = ("benchmark", "metric", "unit", "direction", "base", "head", "change", "low",
              "high", "pairs", "p_worse", "p_adjusted", "pair_sd", "status")


def to_csv(verdict: GateVerdict) -> str:
    """One row per metric (the index first), the columns of :data:`CSV_FIELDS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for m in sorted_metrics(verdict):
        writer.writerow(m.to_dict())
    return buffer.getvalue()


def write(verdict: GateVerdict, header: Mapping[str, Any], paths: Sequence[Path]) -> list[Path]:
    """Write each path in the format its extension names (.json, .md, .csv), atomically."""
    renders = {".json": lambda: json.dumps(to_dict(verdict, header), indent=2, sort_keys=True,
                                           default=str) + "\n",
               ".md": lambda: to_markdown(verdict, header), ".csv": lambda: to_csv(verdict)}
    written = []
    for path in paths:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, renders[path.suffix.lower()]())
        written.append(path)
    return written


def plot(verdict: GateVerdict, folder: Path, *, top: int = 30) -> Path:
    """A forest plot of the gated metrics that moved most (the index on top): head/base on
    a log axis (a halving and a doubling equally far from 0), intervals clipped at -50 % and
    +100 %, the threshold band shaded; regressions red, improvements green. Tails are left
    out: they are not gated, and their intervals at CI scale would squash every other row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    gated = [m for m in sorted_metrics(verdict)
             if m.test is not None and m.status not in ("tail", "not judged")][:top]
    rows = gated[::-1]
    low_clip, high_clip = 0.5, 2.0
    fig, ax = plt.subplots(figsize=(10, 0.3 * len(rows) + 1.8))
    colours = {"regression": "tab:red", "improvement": "tab:green"}
    for y, m in enumerate(rows):
        assert m.test is not None
        colour = colours.get(m.status, "tab:gray")
        lo = min(max(1 + m.test.low, low_clip), high_clip)
        hi = min(max(1 + m.test.high, low_clip), high_clip)
        ax.plot([lo, hi], [y, y], color=colour, lw=2)
        ax.plot([min(max(1 + m.test.change, low_clip), high_clip)], [y], "o", color=colour,
                markersize=7 if m is verdict.index else 5)
    t = verdict.settings.threshold
    ax.axvspan(1 - t, 1 + t, color="0.92", zorder=0)
    ax.axvline(1, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ticks = [0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{(x - 1) * 100:+.0f}%" for x in ticks])
    ax.set_xlim(low_clip * 0.97, high_clip * 1.03)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{short(m.benchmark)[:50]}  {m.metric}"[:86] for m in rows],
                       fontsize=7)
    ax.set_xlabel(f"head vs base, {verdict.settings.level:.0%} interval over {verdict.pairs} "
                  f"pairs (shaded: ±{t:.0%} threshold)", fontsize=8)
    ax.set_title(verdict.headline(), fontsize=9, loc="left")
    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "paired-gate.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
