#!/usr/bin/env bash
# The distributed set-up on one machine, without containers: the same processes as compose.yaml.
#
#   infra/one-machine.sh start    create the databases if missing, start everything, wait until ready
#   infra/one-machine.sh status   what runs, with pids and addresses (exit 0 only if all of it runs)
#   infra/one-machine.sh stop     stop everything this run folder started, and whatever those started
#
# Processes, in start order: prefect-server (on PostgreSQL), dask-scheduler, dask-worker-N, a one-off
# `python -m flows.deploy`, prefect-worker-N (process work pool) and app (`rpl serve`, RPL_RUNNER=
# deployments). Logs go to $RPL_RUN_DIR/logs/NAME.log, pids to $RPL_RUN_DIR/pids/NAME.pid.
#
# Every process gets RPL_ONE_MACHINE_RUN=$RPL_RUN_DIR in its environment, which its children inherit:
# `stop` finds by it what the started processes started themselves (Prefect flow runs run in sessions
# of their own, Dask nannies spawn workers) and stops those too. Settings, all optional (defaults):
#   RPL_RUN_DIR (.run/one-machine)      RPL_HOME ($RPL_RUN_DIR/home)      RPL_BIN (.venv/bin)
#   RPL_DATABASE_URL (postgresql+psycopg://postgres@127.0.0.1:5432/rpl)
#   PREFECT_API_DATABASE_CONNECTION_URL (postgresql+asyncpg://postgres@127.0.0.1:5432/rpl_prefect)
#   RPL_HOST (127.0.0.1) RPL_PORT (8000) PREFECT_PORT (4200) DASK_PORT (8786) RPL_WORK_POOL (rpl)
#   RPL_FLOW_WORKERS (1) RPL_DASK_WORKERS (2) PREFECT_WORKER_QUERY_SECONDS (2) RPL_START_TIMEOUT (180)
#   RPL_STOP_GRACE (10)
#   RPL_STOP_WHEN_GONE (unset): a pid; when that process ends, however it ends (even SIGKILL), a
#     watchdog started with the set-up runs `stop`. Tests pass their own pid, so that a killed test
#     run leaves nothing behind.
# and any other RPL_… or PREFECT_… setting, passed on to every process.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${RPL_RUN_DIR:-$ROOT/.run/one-machine}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
LOGS="$RUN_DIR/logs"
PIDS="$RUN_DIR/pids"
MARK="RPL_ONE_MACHINE_RUN=$RUN_DIR"
GRACE="${RPL_STOP_GRACE:-10}"  # seconds each process gets to stop after a signal

configure() {
  export RPL_HOME="${RPL_HOME:-$RUN_DIR/home}"
  export PREFECT_HOME="${PREFECT_HOME:-$RUN_DIR/prefect-home}"
  export RPL_DATABASE_URL="${RPL_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/rpl}"
  export PREFECT_API_DATABASE_CONNECTION_URL="${PREFECT_API_DATABASE_CONNECTION_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/rpl_prefect}"
  RPL_HOST="${RPL_HOST:-127.0.0.1}"
  RPL_PORT="${RPL_PORT:-8000}"
  PREFECT_PORT="${PREFECT_PORT:-4200}"
  DASK_PORT="${DASK_PORT:-8786}"
  POOL="${RPL_WORK_POOL:-rpl}"
  FLOW_WORKERS="${RPL_FLOW_WORKERS:-1}"
  DASK_WORKERS="${RPL_DASK_WORKERS:-2}"
  TIMEOUT="${RPL_START_TIMEOUT:-180}"
  BIN="${RPL_BIN:-$ROOT/.venv/bin}"
  # The same public URL for the app and the workers: it is in every DID, link and credential.
  export RPL_PUBLIC_URL="${RPL_PUBLIC_URL:-http://$RPL_HOST:$RPL_PORT}"
  export RPL_RUNNER=deployments
  export PREFECT_API_URL="http://127.0.0.1:$PREFECT_PORT/api"
  export RPL_DASK_ADDRESS="tcp://127.0.0.1:$DASK_PORT"
  export PREFECT_WORKER_QUERY_SECONDS="${PREFECT_WORKER_QUERY_SECONDS:-2}"
  export PREFECT_SERVER_ANALYTICS_ENABLED="${PREFECT_SERVER_ANALYTICS_ENABLED:-false}"
  export RPL_ONE_MACHINE_RUN="$RUN_DIR"
  # Workers import flows/ and rpl/ from the project folder, wherever they are started from.
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  [ -x "$BIN/rpl" ] || die "no $BIN/rpl: run 'uv sync' in $ROOT first (or set RPL_BIN)"
}

die() { echo "one-machine: $*" >&2; exit 1; }
say() { echo "one-machine: $*"; }

# --- processes ----------------------------------------------------------------------------------

ours() {  # is pid alive and started by this run (not a reused pid)?
  [ -r "/proc/$1/environ" ] && grep -qzxF "$MARK" "/proc/$1/environ" 2>/dev/null
}

marked() {  # every live process carrying this run's mark
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid="${environ#/proc/}"
    pid="${pid%/environ}"
    [ "$pid" = "$$" ] && continue
    grep -qzxF "$MARK" "$environ" 2>/dev/null && echo "$pid"
  done
  return 0
}

launch() {  # launch NAME COMMAND...: in a session of its own, logged, its pid written down
  local name="$1"
  shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
  echo "$name" >>"$RUN_DIR/order"
}

wait_for() {  # wait_for WHAT NAME CHECK...: until CHECK succeeds, NAME dies or time runs out
  local what="$1" name="$2" waited=0
  shift 2
  until "$@" >/dev/null 2>&1; do
    ours "$(cat "$PIDS/$name.pid")" || die "$name exited; see $LOGS/$name.log"
    [ "$waited" -lt "$((TIMEOUT * 2))" ] || die "no $what after ${TIMEOUT}s; see $LOGS/$name.log"
    sleep 0.5
    waited=$((waited + 1))
  done
}

http_ok() { curl -fsS -o /dev/null --max-time 5 "$1"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_database() {  # the database named in a SQLAlchemy URL, created if missing
  "$BIN/python" - "$1" <<'EOF'
import sys

import psycopg
from sqlalchemy.engine import make_url

url = make_url(sys.argv[1])
admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
with psycopg.connect(admin, autocommit=True) as connection:
    if not connection.execute("select 1 from pg_database where datname = %s", (url.database,)).fetchone():
        connection.execute(f'create database "{url.database}"')
        print(f"created database {url.database}")
EOF
}

# --- commands -----------------------------------------------------------------------------------

start() {
  configure
  if [ -s "$RUN_DIR/order" ]; then
    for name in $(cat "$RUN_DIR/order"); do
      ! ours "$(cat "$PIDS/$name.pid" 2>/dev/null || echo 0)" || die "already running ($name); stop first"
    done
  fi
  rm -rf "$PIDS" "$RUN_DIR/order"
  mkdir -p "$LOGS" "$PIDS" "$RPL_HOME" "$PREFECT_HOME"
  trap 'start_failed' EXIT
  watch_owner
  ensure_database "$RPL_DATABASE_URL"
  ensure_database "$PREFECT_API_DATABASE_CONNECTION_URL"

  launch prefect-server "$BIN/prefect" server start --host 127.0.0.1 --port "$PREFECT_PORT"
  launch dask-scheduler "$BIN/dask" scheduler --host 127.0.0.1 --port "$DASK_PORT" --no-dashboard
  # Migrations and the master key (RPL_HOME/master.key unless RPL_MASTER_KEY) made once, here,
  # before any worker needs them.
  "$BIN/rpl" db upgrade >"$LOGS/setup.log" 2>&1
  "$BIN/rpl" org list >>"$LOGS/setup.log" 2>&1
  wait_for "Dask scheduler" dask-scheduler port_open "$DASK_PORT"
  for i in $(seq 1 "$DASK_WORKERS"); do
    launch "dask-worker-$i" "$BIN/dask" worker "$RPL_DASK_ADDRESS" --name "dask-worker-$i" \
      --nworkers 1 --nthreads 1 --no-dashboard
  done
  wait_for "Prefect server" prefect-server http_ok "$PREFECT_API_URL/health"
  "$BIN/python" -m flows.deploy --pool "$POOL" >"$LOGS/deploy.log" 2>&1
  for i in $(seq 1 "$FLOW_WORKERS"); do
    launch "prefect-worker-$i" "$BIN/prefect" worker start --pool "$POOL" --type process \
      --name "rpl-worker-$i" --install-policy never
  done
  launch app "$BIN/rpl" serve --host "$RPL_HOST" --port "$RPL_PORT"
  wait_for "answer from the app" app http_ok "http://127.0.0.1:$RPL_PORT/"
  trap - EXIT
  status
}

watch_owner() {  # with RPL_STOP_WHEN_GONE=PID: stop everything once PID has ended
  [ -n "${RPL_STOP_WHEN_GONE:-}" ] || return 0
  kill -0 "$RPL_STOP_WHEN_GONE" 2>/dev/null || die "RPL_STOP_WHEN_GONE: no process $RPL_STOP_WHEN_GONE"
  # Unmarked, so that `stop` does not count it among the set-up; `exec` makes the stop it runs
  # keep its pid, which `stop` then leaves alone.
  env -u RPL_ONE_MACHINE_RUN setsid bash -c \
    'while kill -0 "$1" 2>/dev/null; do sleep 2; done; exec "$2" stop' \
    one-machine-watchdog "$RPL_STOP_WHEN_GONE" "$ROOT/infra/one-machine.sh" \
    >"$LOGS/watchdog.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/watchdog.pid"
}

stop_watchdog() {  # the watchdog of the last start, unless this is it
  local pid
  pid="$(cat "$RUN_DIR/watchdog.pid" 2>/dev/null || echo 0)"
  rm -f "$RUN_DIR/watchdog.pid"
  [ "$pid" != 0 ] && [ "$pid" != "$$" ] || return 0
  if grep -qa one-machine-watchdog "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
  fi
}

start_failed() {
  echo "one-machine: start failed; stopping what was started (logs: $LOGS)" >&2
  stop_all
}

stop_all() {
  local name pid left waited
  if [ -s "$RUN_DIR/order" ]; then
    # The app first (no new work), the Prefect server last (workers report to it until the end).
    for name in $(tac "$RUN_DIR/order"); do
      pid="$(cat "$PIDS/$name.pid" 2>/dev/null || echo 0)"
      ours "$pid" || continue
      # A second SIGTERM is how a Prefect worker is told not to wait for its flow runs.
      for signal in TERM TERM KILL; do
        kill -"$signal" -- "-$pid" 2>/dev/null || kill -"$signal" "$pid" 2>/dev/null || true
        for waited in $(seq 1 "$((GRACE * 2))"); do ours "$pid" || break; sleep 0.5; done
        ours "$pid" || break
        say "$name still running ${GRACE}s after SIG$signal"
      done
    done
  fi
  # What the started processes started and left behind (flow runs, Dask worker processes).
  left="$(marked)"
  if [ -n "$left" ]; then
    kill -TERM $left 2>/dev/null || true
    for waited in $(seq 1 20); do [ -n "$(marked)" ] || break; sleep 0.5; done
    left="$(marked)"
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
  fi
  for waited in $(seq 1 20); do [ -n "$(marked)" ] || break; sleep 0.5; done
  rm -rf "$PIDS" "$RUN_DIR/order"
  stop_watchdog
}

stop() {
  if [ ! -s "$RUN_DIR/order" ] && [ -z "$(marked)" ]; then
    stop_watchdog
    say "nothing running from $RUN_DIR"
    return 0
  fi
  stop_all
  [ -z "$(marked)" ] || die "still running: $(marked | tr '\n' ' ')"
  say "stopped everything started from $RUN_DIR"
}

status() {
  local name pid running=0 stopped=0
  [ -s "$RUN_DIR/order" ] || { say "nothing started from $RUN_DIR"; return 3; }
  for name in $(cat "$RUN_DIR/order"); do
    pid="$(cat "$PIDS/$name.pid")"
    if ours "$pid"; then
      printf '  %-18s pid %-8s running\n' "$name" "$pid"
      running=$((running + 1))
    else
      printf '  %-18s pid %-8s STOPPED (see %s)\n' "$name" "$pid" "$LOGS/$name.log"
      stopped=$((stopped + 1))
    fi
  done
  if [ -n "${RPL_PORT:-}" ]; then
    echo "  app: http://$RPL_HOST:$RPL_PORT  Prefect: ${PREFECT_API_URL%/api}  Dask: $RPL_DASK_ADDRESS"
  fi
  echo "  run folder: $RUN_DIR ($(marked | wc -l) processes in all)"
  [ "$stopped" -eq 0 ]
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
