#!/usr/bin/env bash
# Bring up kwa's local Prefect stack on this machine; safe to run again at any time.
#
#   1. the Prefect server: kwa's own (`kwa server start`: loopback, SQLite, health-polled), or the
#      server PREFECT_API_URL names when it is set (then it is only checked, never started);
#   2. the process work pool `kwa-process` (created when missing, never overwritten);
#   3. every deployment in prefect.yaml (`prefect --no-prompt deploy --all`: re-registering is how
#      an edited schedule reaches the server);
#   4. a process worker in the background (nohup; pid and log under kwa's data directory), kept
#      when it already runs against the same API, else restarted;
#   5. the UI address.
#
# Environment:
#   KWA_PYTHON                  the interpreter with kwa installed (default: .venv/bin/python of this clone)
#   PREFECT_API_URL             use this Prefect server instead of kwa's local one
#   KWA_WORKER_QUERY_SECONDS    how often the worker polls for runs (default 2: runs start quickly)
#   KWA_WORKER_LIMIT            at most this many flow runs at once on this worker (default: no limit)
#   KWA_DATABASE_URL, KUBECONFIG, KWA_HOME, XDG_DATA_HOME
#                               inherited by the worker and so by every run it starts
# Stop everything with scripts/stack-down.sh.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POOL="kwa-process"
PY="${KWA_PYTHON:-$REPO/.venv/bin/python}"
if [[ ! -x "$PY" ]]; then
    echo "error: no Python with kwa installed at $PY; install first (README, Quick start) or set KWA_PYTHON" >&2
    exit 2
fi
cd "$REPO"

say() { printf '==> %s\n' "$*" >&2; }
prefect() { "$PY" -m prefect "$@"; }

KWA_DATA="$("$PY" -c 'from flows.server import kwa_home; print(kwa_home())')"
WORKER_DIR="$KWA_DATA/worker"
mkdir -p "$WORKER_DIR"

# Measured: with SQLAlchemy 2.1 the Prefect 3.8.8 server's scheduler fails every insert
# ("Can't evaluate bulk DML statement"), so schedules would silently never fire.
"$PY" - <<'EOF' >&2
import sqlalchemy
from packaging.version import Version

if Version(sqlalchemy.__version__) >= Version("2.1"):
    print(
        f"==> warning: SQLAlchemy {sqlalchemy.__version__} is installed: Prefect 3.8.8's scheduler creates no "
        "scheduled runs with SQLAlchemy 2.1 (runs started from the UI or API work). Fix: pip install 'sqlalchemy<2.1'"
    )
EOF

# 1. server -------------------------------------------------------------------------------------
if [[ -n "${PREFECT_API_URL:-}" ]]; then
    say "using the Prefect server at $PREFECT_API_URL (PREFECT_API_URL)"
    if ! "$PY" -c 'import os, sys; from flows.server import healthy; sys.exit(0 if healthy(os.environ["PREFECT_API_URL"], 5) else 1)'; then
        echo "error: no healthy Prefect server answers at $PREFECT_API_URL/health" >&2
        exit 1
    fi
else
    say "starting kwa's local Prefect server (or reusing the running one)"
    "$PY" -m kwa server start >&2
    PREFECT_API_URL="$("$PY" -c 'from flows.server import read_state; print(read_state()["url"])')"
fi
export PREFECT_API_URL

# 2. work pool ----------------------------------------------------------------------------------
if prefect work-pool inspect "$POOL" >/dev/null 2>&1; then
    say "work pool $POOL exists"
else
    say "creating work pool $POOL (type process)"
    prefect work-pool create "$POOL" --type process >/dev/null
fi

# 3. deployments --------------------------------------------------------------------------------
# KWA_REPO_DIR stays unset here so the pull step keeps `{{ $KWA_REPO_DIR }}` and each worker
# resolves it to its own clone when a run starts (see prefect.yaml).
say "registering the deployments in prefect.yaml"
env -u KWA_REPO_DIR "$PY" -m prefect --no-prompt deploy --all >"$WORKER_DIR/deploy.log" 2>&1 || {
    echo "error: prefect deploy failed; its output:" >&2
    cat "$WORKER_DIR/deploy.log" >&2
    exit 1
}
"$PY" - <<'EOF' >&2
import asyncio

from prefect.client.orchestration import get_client


async def main() -> None:
    async with get_client() as client:
        for d in sorted(await client.read_deployments(), key=lambda d: d.name):
            cron = ", ".join(
                f"{s.schedule.cron} {s.schedule.timezone}" + ("" if s.active else " (paused)")
                for s in d.schedules
                if hasattr(s.schedule, "cron")
            )
            print(f"    {d.name:<24} {d.work_pool_name:<14} {cron or '(no schedule)'}")


asyncio.run(main())
EOF

# 4. worker -------------------------------------------------------------------------------------
PID_FILE="$WORKER_DIR/worker.pid"
URL_FILE="$WORKER_DIR/worker.api-url"
LOG_FILE="$WORKER_DIR/worker.log"
running_pid=""
if [[ -f "$PID_FILE" ]]; then
    pid="$(cat "$PID_FILE")"
    # The pid must still be our worker (pids are reused): check its command line.
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "worker start --pool $POOL"; then
        running_pid="$pid"
    fi
fi
if [[ -n "$running_pid" && "$(cat "$URL_FILE" 2>/dev/null)" == "$PREFECT_API_URL" ]]; then
    say "worker already running (pid $running_pid)"
else
    if [[ -n "$running_pid" ]]; then
        say "restarting the worker (it polls another API: $(cat "$URL_FILE" 2>/dev/null))"
        "$REPO/scripts/stack-down.sh" --worker-only
    fi
    limit=()
    [[ -n "${KWA_WORKER_LIMIT:-}" ]] && limit=(--limit "$KWA_WORKER_LIMIT")
    say "starting a process worker on pool $POOL (log: $LOG_FILE)"
    offset=$(($(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0) + 1))
    KWA_REPO_DIR="$REPO" \
        PREFECT_WORKER_QUERY_SECONDS="${KWA_WORKER_QUERY_SECONDS:-2}" \
        nohup setsid "$PY" -m prefect worker start --pool "$POOL" --type process \
        --name "kwa-local-$(hostname)" "${limit[@]}" >>"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    echo "$PREFECT_API_URL" >"$URL_FILE"
    # Ready once it logs "Worker '…' started!" (it has reached the API and polls the pool).
    ready=false
    for _ in $(seq 1 240); do
        if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
            echo "error: the worker exited at start; the end of $LOG_FILE:" >&2
            tail -20 "$LOG_FILE" >&2
            rm -f "$PID_FILE" "$URL_FILE"
            exit 1
        fi
        if tail -c "+$offset" "$LOG_FILE" | grep -q "Worker .* started!"; then
            ready=true
            break
        fi
        sleep 0.25
    done
    $ready || say "warning: the worker has not reported ready within 60 s; see $LOG_FILE"
fi

# 5. where to look ------------------------------------------------------------------------------
UI="${PREFECT_API_URL%/api}"
cat <<EOF
kwa stack is up.
  Prefect UI:    $UI   (Deployments: kwa-assessment/*, Runs, Artifacts)
  API:           export PREFECT_API_URL=$PREFECT_API_URL
  worker log:    $LOG_FILE
  run one now:   $PY -m prefect deployment run kwa-assessment/security
  stop:          scripts/stack-down.sh
EOF
