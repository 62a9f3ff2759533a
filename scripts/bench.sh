#!/usr/bin/env bash
# The main job: the guide's benchmark suite on the embedded default server (a local influxd).
#   bash scripts/bench.sh                         small scale (the guide's sizes)
#   bash scripts/bench.sh --influx-scale smoke    CI-sized, a few minutes
# Any pytest option may follow (e.g. --influx-report results.md --influx-plots plots).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${PYTHON:-python3}" -m pytest suites --influx-bench --influx-provider process "$@"
