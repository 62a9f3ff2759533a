#!/usr/bin/env bash
# The plugin's own tests, against real servers through both the process and docker providers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --docker
exec "${PYTHON:-python3}" -m pytest tests "$@"
