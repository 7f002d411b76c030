#!/usr/bin/env bash
# Starts, stops and reports on the whole DayTrader stack on one machine, without Docker:
# PostgreSQL, Redis and RabbitMQ (scripts/services.sh), the quote emulator, the audit server,
# N transaction servers and HAProxy in front of them. Every process has its own directory
# (pid file, log, data) under one run directory.
#
#   scripts/stack.sh up [RUN_DIR]       # default run/stack
#   scripts/stack.sh down [RUN_DIR]
#   scripts/stack.sh status [RUN_DIR]
#   scripts/stack.sh env [RUN_DIR]      # the environment that points clients at the stack
#
# Settings (environment):
#   BIN_DIR            where the executables are (default: the release build's bin path)
#   SERVERS            how many transaction servers (default 2)
#   FRONT_PORT         HAProxy's front for clients (8080); STATS_PORT its operations port (8404:
#                      the stats page at /stats, the servers' /health, /metrics and /internal routes)
#   SERVER_BASE_PORT   transaction server i listens on SERVER_BASE_PORT + i (8080, so 8081...)
#   AUDIT_PORT         the audit server (8090); QUOTE_PORT the quote emulator (4444)
#   PG_PORT, REDIS_PORT, RABBITMQ_PORT   the backing services (25532, 26479, 25772: not the
#                      test run's defaults, so `make test` can run while the stack is up)
#   QUOTE_LATENCY      the emulator's latency: none, fixed:<ms> or legacy (default none)
#   LOG_LEVEL          the servers' log level (default info)
#   API_AUTH           on (default: every request needs a session or the service token) or off
#   API_SERVICE_TOKEN  the machines' token (the workload generator's); default: a random one made
#                      on first `up` and kept in RUN_DIR/service-token (`env` prints it)
# Any other variable the servers read (docs/OPERATIONS.md), such as QUOTE_LIFETIME_MS, is passed
# through to them.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
close_inherited_descriptors

usage="usage: stack.sh up|down|status|env [RUN_DIR]"
action=${1:?$usage}
repo=$(cd "$(dirname "$0")/.." && pwd)
run_dir=$(mkdir -p "${2:-$repo/run/stack}" && cd "${2:-$repo/run/stack}" && pwd)

servers=${SERVERS:-2}
front_port=${FRONT_PORT:-8080}
stats_port=${STATS_PORT:-8404}
server_base_port=${SERVER_BASE_PORT:-8080}
audit_port=${AUDIT_PORT:-8090}
quote_port=${QUOTE_PORT:-4444}
export PG_PORT=${PG_PORT:-25532} REDIS_PORT=${REDIS_PORT:-26479} RABBITMQ_PORT=${RABBITMQ_PORT:-25772}

case "$servers" in '' | *[!0-9]* | 0) echo "SERVERS must be a whole number of at least 1, not '$servers'" >&2; exit 2 ;; esac

# The service token: API_SERVICE_TOKEN if set, else the run directory's own (made once, private).
service_token() {
    if [ -n "${API_SERVICE_TOKEN:-}" ]; then echo "$API_SERVICE_TOKEN"; return; fi
    if [ ! -s "$run_dir/service-token" ]; then
        (umask 077 && random_hex 32 >"$run_dir/service-token")
    fi
    cat "$run_dir/service-token"
}

bin_dir() {
    if [ -n "${BIN_DIR:-}" ]; then echo "$BIN_DIR"; else (cd "$repo" && swift build -c release --show-bin-path); fi
}

# The pid in NAME's pid file, if that process is alive.
pid_of() {
    local pid
    pid=$(cat "$run_dir/$1/pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && alive "$pid" && echo "$pid"
}

# Starts a program in a session of its own, logging to NAME/log, and records its pid.
# Usage: launch NAME PORT PROGRAM ARGS... (with the environment already set by the caller).
launch() {
    local name=$1 port=$2; shift 2
    if pid_of "$name" >/dev/null; then echo "$name: already running (pid $(pid_of "$name"))"; return 1; fi
    port_is_free "$port" || { echo "$name: port $port is taken; choose another (see scripts/stack.sh)" >&2; exit 1; }
    mkdir -p "$run_dir/$name"
    (exec setsid "$@" </dev/null >>"$run_dir/$name/log" 2>&1) &
    echo $! >"$run_dir/$name/pid"
}

# Waits until URL answers 200, or fails with NAME's log.
await_ready() {
    local name=$1 url=$2 deadline=$((SECONDS + 120))
    while [ "$SECONDS" -lt "$deadline" ]; do
        pid_of "$name" >/dev/null || { echo "$name: exited during startup; its log ($run_dir/$name/log) ends:" >&2; tail -20 "$run_dir/$name/log" >&2; exit 1; }
        curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$name: not ready at $url after 120 s; see $run_dir/$name/log" >&2
    exit 1
}

await_port() {
    local name=$1 port=$2 deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        pid_of "$name" >/dev/null || { echo "$name: exited during startup; see $run_dir/$name/log" >&2; tail -20 "$run_dir/$name/log" >&2; exit 1; }
        port_is_free "$port" || return 0
        sleep 0.1
    done
    echo "$name: not listening on $port after 30 s; see $run_dir/$name/log" >&2
    exit 1
}

# Stops NAME by its pid file: SIGTERM (the servers drain: the relay hands over its outbox),
# then SIGKILL after 30 s.
stop() {
    local name=$1 pid
    pid=$(pid_of "$name") || { rm -f "$run_dir/$name/pid"; return 0; }
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 300); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
        echo "$name: did not stop within 30 s; killing it" >&2
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$run_dir/$name/pid"
    echo "$name: stopped"
}

server_names() {
    local i
    for i in $(seq "$servers"); do echo "ts$i"; done
}

up() {
    local bin; bin=$(bin_dir)
    for program in transaction-server audit-server quote-server; do
        [ -x "$bin/$program" ] || { echo "$bin/$program is missing: build first (swift build -c release)" >&2; exit 1; }
    done
    # A port may be taken only by our own process that serves it (`up` again starts only what
    # is missing).
    local entry
    for entry in "haproxy:$front_port" "haproxy:$stats_port" "audit-server:$audit_port" "quote-server:$quote_port"; do
        port_is_free "${entry##*:}" || pid_of "${entry%%:*}" >/dev/null || {
            echo "port ${entry##*:} is taken: set FRONT_PORT, STATS_PORT, AUDIT_PORT or QUOTE_PORT (see scripts/stack.sh)" >&2; exit 1; }
    done

    "$repo/scripts/services.sh" start "$run_dir"
    eval "$("$repo/scripts/services.sh" env "$run_dir")"
    export LOG_LEVEL=${LOG_LEVEL:-info} QUOTE_HOST=127.0.0.1 QUOTE_PORT=$quote_port HTTP_HOST=127.0.0.1
    export API_AUTH=${API_AUTH:-on} API_SERVICE_TOKEN; API_SERVICE_TOKEN=$(service_token)

    if launch quote-server "$quote_port" "$bin/quote-server" --port "$quote_port" --latency "${QUOTE_LATENCY:-none}"; then
        await_port quote-server "$quote_port"
        echo "quote-server: running on 127.0.0.1:$quote_port"
    fi

    # DUMPLOG asks the transaction servers, through HAProxy's operations port, whether their
    # outbox has drained.
    if SERVER_NAME=audit1 HTTP_PORT=$audit_port AUDIT_DUMP_DIRECTORY="$run_dir/audit-server/dumps" \
        TRADING_URL="http://127.0.0.1:$stats_port" launch audit-server "$audit_port" "$bin/audit-server"; then
        await_ready audit-server "http://127.0.0.1:$audit_port/health/ready"
        echo "audit-server: running on 127.0.0.1:$audit_port"
    fi

    local name port started=()
    for name in $(server_names); do
        port=$((server_base_port + ${name#ts}))
        if SERVER_NAME=$name HTTP_PORT=$port launch "$name" "$port" "$bin/transaction-server"; then
            started+=("$name:$port")
        fi
    done
    for entry in "${started[@]}"; do
        await_ready "${entry%%:*}" "http://127.0.0.1:${entry##*:}/health/ready"
        echo "${entry%%:*}: transaction server running on 127.0.0.1:${entry##*:}"
    done

    mkdir -p "$run_dir/haproxy"
    local lines=""
    for name in $(server_names); do
        lines+="    server $name 127.0.0.1:$((server_base_port + ${name#ts}))"$'\n'
    done
    awk -v servers="$lines" \
        -v front="127.0.0.1:$front_port" -v stats="127.0.0.1:$stats_port" -v audit="127.0.0.1:$audit_port" '
        /@TRANSACTION_SERVERS@/ { printf "%s", servers; next }
        { gsub(/@FRONT_ADDRESS@/, front); gsub(/@STATS_ADDRESS@/, stats); gsub(/@AUDIT_ADDRESS@/, audit); print }
    ' "$repo/haproxy/haproxy.cfg.template" >"$run_dir/haproxy/haproxy.cfg"
    haproxy -c -q -f "$run_dir/haproxy/haproxy.cfg" || { echo "haproxy: the generated configuration is invalid: $run_dir/haproxy/haproxy.cfg" >&2; exit 1; }
    if launch haproxy "$front_port" haproxy -db -f "$run_dir/haproxy/haproxy.cfg"; then
        await_ready haproxy "http://127.0.0.1:$stats_port/health/ready"
        echo "haproxy: http://127.0.0.1:$front_port (stats http://127.0.0.1:$stats_port/stats)"
    fi
    echo "stack is up: $servers transaction server(s) behind http://127.0.0.1:$front_port; logs in $run_dir"
}

down() {
    stop haproxy
    local name
    for name in $(cd "$run_dir" && ls -d ts* 2>/dev/null); do stop "$name"; done
    stop audit-server
    stop quote-server
    "$repo/scripts/services.sh" stop "$run_dir"
}

status() {
    local name pid state=0
    for name in quote-server audit-server $(cd "$run_dir" && ls -d ts* 2>/dev/null) haproxy; do
        if pid=$(pid_of "$name"); then
            echo "$name: running (pid $pid)"
        else
            echo "$name: stopped"; state=1
        fi
    done
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && echo "postgres: running on $PG_PORT" || { echo "postgres: stopped"; state=1; }
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && echo "redis: running on $REDIS_PORT" || { echo "redis: stopped"; state=1; }
    port_is_free "$RABBITMQ_PORT" && { echo "rabbitmq: stopped"; state=1; } || echo "rabbitmq: running on $RABBITMQ_PORT"
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$stats_port/health/ready" 2>/dev/null; then
        echo "front: http://127.0.0.1:$front_port is ready"
    else
        echo "front: http://127.0.0.1:$front_port is not ready"; state=1
    fi
    return $state
}

case "$action" in
    up) up ;;
    down) down ;;
    status) status ;;
    env)
        "$repo/scripts/services.sh" env "$run_dir"
        echo "export DAYTRADER_URL=http://127.0.0.1:$front_port API_SERVICE_TOKEN=$(service_token)"
        ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
