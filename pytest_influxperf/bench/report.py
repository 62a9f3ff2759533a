"""Reports: one JSON document per run, rendered as Markdown, CSV and terminal lines.

The JSON report is the source of the other renderings, and ``influxperf compare`` reads it
back just like a baseline (its ``benchmarks`` have the same shape), so a report from a pull
request can be compared with the main branch's report or baseline.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..files import write_text_atomic
from .gate import KINDS, format_percent, format_value
from .tiers import scrub

if TYPE_CHECKING:
    from .session import BenchSession

FORMAT = "pytest-influxperf report 1"

_MARK = {"pass": "ok", "regression": "REGRESSION", "improvement": "improved",
         "no-baseline": "no baseline", "env-mismatch": "ENV MISMATCH", "error": "ERROR"}
_MD_MARK = {"pass": "✅ pass", "regression": "❌ regression", "improvement": "🚀 improvement",
            "no-baseline": "⚠️ no baseline", "env-mismatch": "⚠️ environment mismatch",
            "error": "💥 error"}


def build_report(session: BenchSession) -> dict[str, Any]:
    """The run as a JSON-ready dict (stable key order when dumped with ``sort_keys``)."""
    from .baseline import environment_differences

    try:
        env = session.environment()
        tier = session.tier
    except Exception:  # noqa: BLE001 - an unreadable environment still gets a report
        env, tier = {}, session.settings.tier
    baseline_info = None
    try:
        baseline = session.baseline() if not session.settings.save_baseline else None
    except Exception:  # noqa: BLE001 - already reported per test as an error outcome
        baseline = None
    if baseline is not None:
        baseline_info = {"path": str(baseline.path), "environment": scrub(baseline.environment),
                         "differences": environment_differences(baseline.environment, env)}
    benchmarks = {}
    for result in session.results:
        entry = result.record.to_dict()
        entry.update(outcome=result.outcome.to_dict(),
                     comparisons=[c.to_dict() for c in result.outcome.comparisons],
                     claims=[c.to_dict() for c in result.claims],
                     errors=list(result.record.errors))
        benchmarks[result.record.nodeid] = entry
    counts = Counter(r.outcome.kind for r in session.results)
    run = session.run_outcome()
    return {"format": FORMAT, "tier": tier, "compare": session.settings.compare,
            "tolerance_floor": session.settings.tolerance,
            "environment": {k: env[k] for k in sorted(scrub(env))},
            "baseline": baseline_info, "benchmarks": benchmarks,
            "run": None if run is None else {**run.to_dict(),
                                             **run.comparisons[0].to_dict()},
            "summary": {k: counts[k] for k in KINDS if counts[k]},
            "notes": list(session.notes)}


def _claims_table(claims: list[dict[str, Any]]) -> list[str]:
    """The claims as a table with their detail (which side, which data), or as the verdict
    sentences when the claims registry cannot be loaded."""
    try:
        from .claims import format_table
    except ImportError:
        return [f"{c['claim_id']}: measured {format_value(c['measured'])} - {c['verdict']}"
                for c in claims]
    return format_table((c["claim_id"], c["measured"], c.get("detail") or "") for c in claims)


def write_report(report: Mapping[str, Any], path: Path) -> Path:
    """Write ``report`` to ``path`` in the format its extension names (.json, .md, .csv)."""
    path = Path(path)
    render = {".json": to_json, ".md": to_markdown, ".csv": to_csv}.get(path.suffix.lower())
    if render is None:
        raise ValueError(f"report {path}: use a .json, .md or .csv file name")
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, render(report))
    return path


def to_json(report: Mapping[str, Any]) -> str:
    """The report as sorted, indented JSON."""
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


def rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per metric: benchmark, metric, baseline, current, change, status."""
    out = []
    for nodeid, bench in report["benchmarks"].items():
        outcome = bench.get("outcome", {}).get("kind", "")
        comparisons = bench.get("comparisons") or []
        if not comparisons:
            out.append({"benchmark": nodeid, "group": bench.get("group"), "metric": "",
                        "unit": "", "direction": "", "baseline": None, "current": None,
                        "change": None, "tolerance": None, "status": "", "outcome": outcome})
        for c in comparisons:
            out.append({"benchmark": nodeid, "group": bench.get("group"), "metric": c["name"],
                        "unit": c["unit"], "direction": c["direction"],
                        "baseline": c["baseline"], "current": c["current"],
                        "change": c["change"], "tolerance": c["tolerance"],
                        "status": c["status"], "outcome": outcome})
    return out


def to_csv(report: Mapping[str, Any]) -> str:
    """One CSV row per metric, with the tier on every row for spreadsheets."""
    buf = io.StringIO()
    fields = ["tier", "benchmark", "group", "metric", "unit", "direction", "baseline",
              "current", "change", "tolerance", "status", "outcome"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows(report):
        writer.writerow({"tier": report["tier"], **row})
    return buf.getvalue()


def _headline(report: Mapping[str, Any]) -> str:
    env = report.get("environment") or {}
    server = f"{env.get('api', '?')} {env.get('server_version', '?')} ({env.get('provider', '?')})"
    summary = ", ".join(f"{n} {k}" for k, n in (report.get("summary") or {}).items()) or "nothing"
    return (f"tier {report['tier']} | server {server} | scale {env.get('scale', '?')} | "
            f"compare {report.get('compare')} | {summary}")


def short_name(nodeid: str) -> str:
    """``suites/test_x.py::test_batch[100]`` -> ``test_batch[100]``."""
    return nodeid.rsplit("::", 1)[-1]


def to_markdown(report: Mapping[str, Any]) -> str:
    """GitHub-flavoured Markdown, fit for ``$GITHUB_STEP_SUMMARY`` or a PR comment."""
    lines = ["## InfluxDB benchmarks", "", _headline(report), ""]
    baseline = report.get("baseline")
    if baseline and baseline.get("differences"):
        lines += ["> [!WARNING]", "> Environment mismatch with the baseline: "
                  + "; ".join(baseline["differences"]), ""]
    lines += ["| benchmark | metric | baseline | current | change | tolerance | outcome |",
              "|---|---|---:|---:|---:|---:|---|"]
    for row in rows(report):
        mark = _MD_MARK.get(row["outcome"], row["outcome"])
        if row["status"] in ("regression", "improvement", "unconfirmed"):
            mark = f"{mark} ({row['status']})" if row["status"] != row["outcome"] else mark
        lines.append(f"| `{short_name(row['benchmark'])}` | {row['metric']} | "
                     f"{format_value(row['baseline'])} | {format_value(row['current'])} | "
                     f"{format_percent(row['change'], signed=True)} | "
                     f"{format_percent(row['tolerance'])} | {mark} |")
    messages = [(n, b["outcome"]) for n, b in report["benchmarks"].items()
                if b.get("outcome", {}).get("kind") not in ("pass", None)]
    if messages:
        lines += ["", "### Findings", ""]
        lines += [f"- **{o['kind']}** `{short_name(n)}`: {o['message']}" for n, o in messages]
    run = report.get("run")
    if run:
        lines += ["", f"**Run: {_MD_MARK.get(run['kind'], run['kind'])}**"
                      f" - {run['message']}"]
    claims = [c for b in report["benchmarks"].values() for c in b.get("claims") or []]
    if claims:
        lines += ["", "### Guide claims", "", "| claim | measured | verdict |", "|---|---:|---|"]
        lines += [f"| {c['claim_id']} | {format_value(c['measured'])} | {c['verdict']} |"
                  for c in claims]
    return "\n".join(lines) + "\n"


def terminal_lines(report: Mapping[str, Any]) -> list[str]:
    """The terminal summary: a table of baseline, current and change per metric."""
    lines = ["influxperf: " + _headline(report)]
    baseline = report.get("baseline")
    lines.append(f"baseline: {baseline['path']}" if baseline else "baseline: none")
    if baseline and baseline.get("differences"):
        lines.append("!!! ENVIRONMENT MISMATCH with the baseline, figures not judged: "
                     + "; ".join(baseline["differences"]))
    table = [("benchmark", "metric", "baseline", "current", "change", "tol", "status")]
    for row in rows(report):
        status = row["status"] if row["status"] not in ("", "not judged") else row["outcome"]
        table.append((short_name(row["benchmark"])[:48], row["metric"][:28],
                      format_value(row["baseline"]), format_value(row["current"]),
                      format_percent(row["change"], signed=True),
                      format_percent(row["tolerance"]), _MARK.get(status, status)))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        lines.append("  ".join(c.ljust(w) if i < 2 or i == 6 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    # One line per finding; the same message for many benchmarks (a whole run without a
    # baseline) is said once, with the benchmarks it concerns.
    findings: dict[tuple[str, str], list[str]] = {}
    for nodeid, bench in report["benchmarks"].items():
        outcome = bench.get("outcome") or {}
        unconfirmed = any(c["status"] == "unconfirmed" for c in bench.get("comparisons") or [])
        if outcome.get("kind") not in ("pass", None) or unconfirmed:
            key = (outcome["kind"], outcome["message"])
            findings.setdefault(key, []).append(short_name(nodeid))
    for (kind, message), names in findings.items():
        who = names[0] if len(names) == 1 else f"{len(names)} benchmarks ({', '.join(names)})"
        lines.append(f"{_MARK.get(kind, kind)}: {who}: {message}")
    claims = [c for b in report["benchmarks"].values() for c in b.get("claims") or []]
    if claims:
        lines.append("guide claims (claimed against measured; they inform, and fail a run "
                     "only with --influx-strict-claims):")
        lines.extend("  " + row for row in _claims_table(claims))
    run = report.get("run")
    if run:
        lines.append(f"{_MARK.get(run['kind'], run['kind'])}: run: "
                     f"{run['message']}")
    lines += list(report.get("notes") or [])
    return lines
