#!/usr/bin/env bash
# Lint and types (ruff with the rule set in pyproject.toml, mypy --strict) over the code that
# is held to them. The list grows as modules are cleaned; a path on it must stay clean.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if ! "$PY" -m ruff --version >/dev/null 2>&1 || ! "$PY" -m mypy --version >/dev/null 2>&1; then
    echo "lint: installing ruff and mypy (pip)"
    "$PY" -m pip install -q --disable-pip-version-check 'ruff>=0.5' 'mypy>=1.10'
fi
CLEAN=(pytest_influxperf/paired pytest_influxperf/files.py tests/test_paired_stats.py tests/test_paired_judge.py
       tests/test_paired_gate_cli.py scripts/paired_gate_demo.py)
"$PY" -m ruff check "${CLEAN[@]}"
"$PY" -m mypy pytest_influxperf/paired pytest_influxperf/files.py
echo "lint: ruff and mypy clean over ${#CLEAN[@]} paths"
