#!/usr/bin/env bash
# Stop what scripts/stack-up.sh started: the process worker, then kwa's local Prefect server.
#
#   scripts/stack-down.sh                the worker and the server
#   scripts/stack-down.sh --worker-only  the worker only (e.g. before starting it elsewhere)
#
# The worker gets SIGTERM (Prefect's "stop taking runs"), then SIGKILL after 10 s: Prefect 3.8.8's
# process worker often never finishes its shutdown after the first signal. Flow runs the worker
# started run in their own sessions and are not signalled; once the server stops too, a run still
# in progress can no longer report and ends `failed` in kwa ("runner lost"), its finished checks'
# results kept. A server named by PREFECT_API_URL was not started by kwa and is left alone.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${KWA_PYTHON:-$REPO/.venv/bin/python}"
WORKER_ONLY=false
case "${1:-}" in
    "") ;;
    --worker-only) WORKER_ONLY=true ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/stack-down.sh [--worker-only]" >&2; exit 2 ;;
esac
if [[ ! -x "$PY" ]]; then
    echo "error: no Python with kwa installed at $PY; set KWA_PYTHON" >&2
    exit 2
fi
cd "$REPO"

KWA_DATA="$("$PY" -c 'from flows.server import kwa_home; print(kwa_home())')"
PID_FILE="$KWA_DATA/worker/worker.pid"

stop_worker() {  # pid (a session leader, see stack-up.sh): SIGTERM, up to 10 s, then SIGKILL
    local pid="$1"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do  # SIGKILL is asynchronous: report "stopped" only once it is gone
        kill -0 "$pid" 2>/dev/null || return 0
        grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 0
        sleep 0.25
    done
}

if [[ -f "$PID_FILE" ]]; then
    pid="$(cat "$PID_FILE")"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "prefect worker start"; then
        stop_worker "$pid"
        echo "worker stopped (pid $pid)"
    else
        echo "worker not running (stale pid file removed)"
    fi
    rm -f "$PID_FILE" "$KWA_DATA/worker/worker.api-url"
else
    echo "worker not running"
fi

if ! $WORKER_ONLY; then
    # `kwa server stop` only ever stops the server kwa itself started (recorded under KWA_HOME).
    "$PY" -m kwa server stop
fi
