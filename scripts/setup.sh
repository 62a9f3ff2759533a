#!/usr/bin/env bash
# Make this machine ready for pytest-influxperf. Idempotent: installs only what is missing.
#
#   bash scripts/setup.sh            influxd (Debian's influxdb), wrk, the Python package
#   bash scripts/setup.sh --docker   the same, plus Docker: engine started, local image built
#
# As root with apt it installs by itself; otherwise it says exactly what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

want_docker=0
[ "${1:-}" = "--docker" ] && want_docker=1
PY="${PYTHON:-python3}"

missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ "$want_docker" = 1 ]; then
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v docker >/dev/null 2>&1 || missing+=(docker.io)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${missing[*]} (apt-get)"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${missing[@]}" >/dev/null
    else
        echo "setup: missing ${missing[*]}. Install them, e.g.: sudo apt-get install ${missing[*]}" >&2
        echo "       (or run the suite against a server you have: pytest --influx-url URL)" >&2
        exit 1
    fi
fi

# Installed, and from this checkout? (An install from another clone would run its code.)
installed_from=$(cd / && "$PY" -c "import pytest_influxperf, hypothesis, influxdb, testcontainers, xdist
import pathlib; print(pathlib.Path(pytest_influxperf.__file__).resolve().parent.parent)" 2>/dev/null || true)
if [ "$installed_from" != "$(pwd -P)" ] || ! command -v influxperf >/dev/null 2>&1; then
    echo "setup: installing the Python package and its test dependencies (pip)"
    "$PY" -m pip install -q --disable-pip-version-check -e '.[test]'
fi

if [ "$want_docker" = 1 ]; then
    bash scripts/start-dockerd.sh
    influxperf image build-local
fi
echo "setup: ready (influxd $(influxd version 2>/dev/null | awk '{print $2}'))"
