#!/usr/bin/env bash
# Start a Docker engine for the docker provider, if none answers yet.
#
# Idempotent: when `docker info` already answers, this does nothing. Otherwise it starts
# /usr/sbin/dockerd in the background (log: $DOCKERD_LOG), waits (at most $DOCKERD_WAIT
# seconds) until `docker info` answers, and exits 0; on failure it prints the log tail and
# exits 1. A lock file keeps two concurrent callers (parallel CI jobs) from starting two
# engines on one socket.
#
# The engine runs with its default bridge network: the docker provider publishes InfluxDB's
# port on 127.0.0.1 only and talks to 127.0.0.1, never to the bridge. If the default setup
# cannot start here (no iptables in the kernel, for instance), it retries once with
# --iptables=false, which keeps 127.0.0.1 port publishing working through docker-proxy
# (checked on this project's machines). Never --bridge=none: besides disabling port
# publishing, dockerd then deletes an existing docker0, breaking any engine that uses it.
#
# Environment: DOCKERD_LOG (default /var/log/dockerd-influxperf.log, /tmp if not writable),
# DOCKERD_WAIT (default 60), DOCKERD_PIDFILE (default /var/run/docker.pid),
# DOCKERD_EXTRA_ARGS (extra flags for dockerd), DOCKER_HOST (a unix:// socket: the engine
# listens there instead of /var/run/docker.sock).
set -u

WAIT="${DOCKERD_WAIT:-60}"
LOG="${DOCKERD_LOG:-/var/log/dockerd-influxperf.log}"
PIDFILE="${DOCKERD_PIDFILE:-/var/run/docker.pid}"
LOCK="${TMPDIR:-/tmp}/start-dockerd-influxperf.lock"
HOST_ARGS=()
case "${DOCKER_HOST:-}" in
    "") ;;
    unix://*) HOST_ARGS=(--host "$DOCKER_HOST") ;;
    *)  echo "start-dockerd: DOCKER_HOST=$DOCKER_HOST is not a local unix socket; this script" \
             "only starts a local engine (unset DOCKER_HOST)" >&2
        exit 1 ;;
esac

engine_answers() {
    timeout 10 docker info >/dev/null 2>&1
}

if engine_answers; then
    echo "start-dockerd: engine already answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "start-dockerd: no dockerd on PATH; install Docker (Debian: apt-get install docker.io)" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "start-dockerd: dockerd must be started as root (try: sudo bash $0)" >&2
    exit 1
fi
if ! touch "$LOG" 2>/dev/null; then
    LOG="${TMPDIR:-/tmp}/dockerd-influxperf.log"
fi

exec 9>"$LOCK"
if ! flock -w "$WAIT" 9; then
    echo "start-dockerd: another caller holds $LOCK for more than ${WAIT}s" >&2
    exit 1
fi
# Another caller may have started the engine while we waited for the lock.
if engine_answers; then
    echo "start-dockerd: engine already answers"
    exit 0
fi

# A stale pid file from a killed engine makes dockerd refuse to start.
if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE" 2>/dev/null)" 2>/dev/null; then
    rm -f "$PIDFILE"
fi

start_and_wait() {
    # $@: extra dockerd flags. Returns 0 once `docker info` answers, 1 if dockerd dies or
    # the deadline passes.
    echo "start-dockerd: starting dockerd $* (log: $LOG)" | tee -a "$LOG"
    # setsid + nohup: the engine must outlive this script and the shell that ran it.
    # 9>&-: the engine must not inherit the lock, or it would hold it for its whole life.
    # shellcheck disable=SC2086
    setsid nohup dockerd --pidfile "$PIDFILE" "${HOST_ARGS[@]}" "$@" ${DOCKERD_EXTRA_ARGS:-} \
        >>"$LOG" 2>&1 </dev/null 9>&- &
    local pid=$! deadline=$((SECONDS + WAIT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if engine_answers; then
            echo "start-dockerd: engine answers (dockerd pid $pid, $(docker info --format '{{.ServerVersion}} {{.Driver}}' 2>/dev/null))"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "start-dockerd: dockerd exited early" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "start-dockerd: engine did not answer within ${WAIT}s; stopping dockerd $pid" >&2
    stop_engine "$pid"
    return 1
}

stop_engine() {
    # SIGTERM, up to 20 s for a clean exit (it holds the pid file and socket), then SIGKILL.
    kill "$1" 2>/dev/null
    local i
    for i in $(seq 1 40); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.5
    done
    kill -9 "$1" 2>/dev/null
}

if start_and_wait; then
    exit 0
fi
if start_and_wait --iptables=false; then
    exit 0
fi
echo "start-dockerd: could not start dockerd; last lines of $LOG:" >&2
tail -n 30 "$LOG" >&2
exit 1
