#!/usr/bin/env bash
# Starts and stops the backing services (PostgreSQL, Redis, RabbitMQ) with private data
# directories on loopback, for tests and for the local stack. Everything lives under one run
# directory.
#
#   scripts/services.sh start RUN_DIR     # uses PG_PORT (default 25432), REDIS_PORT (default
#                                         # 26379), RABBITMQ_PORT (default 25672)
#
# Every default port of the project's scripts is below Linux's ephemeral range (32768-60999): a
# port in it can be taken at any moment as the local end of some outgoing connection, and a
# server that wants to listen there then fails to start (seen: RabbitMQ's eaddrinuse).
#   scripts/services.sh stop RUN_DIR
#   scripts/services.sh env RUN_DIR       # prints the environment that points clients at them
#   scripts/services.sh start-rabbitmq RUN_DIR   # only the broker (tests stop and restart it
#   scripts/services.sh stop-rabbitmq RUN_DIR    # to simulate an outage)
#   scripts/services.sh rabbitmqctl RUN_DIR ARGS...  # rabbitmqctl against that broker, e.g.
#                                                    # list_queues name messages
#
# PostgreSQL refuses to run as root, so as root its commands run as the `postgres` user.
# PG_FAST=1 turns off fsync (tests only: a crash of the machine may lose committed data).
# PG_OPTIONS adds server settings (e.g. "-c shared_preload_libraries=pg_stat_statements").
#
# RabbitMQ runs as a private node whose name and Erlang distribution port derive from
# RABBITMQ_PORT (node daytrader-PORT@localhost, distribution port PORT + 5 unless
# RABBITMQ_DIST_PORT is set), so two run directories with different ports never clash. As root
# it runs as the `rabbitmq` user (as Debian's scripts do), so its directories belong to that
# user. HOME points into the run directory, so the node and the CLI tools share a private Erlang
# cookie. The Erlang port mapper (epmd, port 4369) that the node starts stays running after
# `stop`; that is normal and harmless. Every stop is by the node's own pid file.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
close_inherited_descriptors

usage="usage: services.sh start|stop|env|start-rabbitmq|stop-rabbitmq RUN_DIR, or rabbitmqctl RUN_DIR ARGS..."
action=${1:?$usage}
run_dir=$(mkdir -p "${2:?$usage}" && cd "$2" && pwd)
pg_port=${PG_PORT:-25432}
redis_port=${REDIS_PORT:-26379}
rabbitmq_port=${RABBITMQ_PORT:-25672}
rabbitmq_dist_port=${RABBITMQ_DIST_PORT:-$((rabbitmq_port + 5))}
rabbitmq_node=daytrader-$rabbitmq_port@localhost
rabbitmq_dir=$run_dir/rabbitmq
rabbitmq_bin=/usr/lib/rabbitmq/bin
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    local data="$run_dir/postgres/data" sock="$run_dir/postgres/sock"
    # A postmaster killed -9 and left a zombie still passes pg_ctl's check and its own lock
    # files' (kill -0 succeeds on a zombie): its lock files go, and the start below recovers
    # from the crash.
    if [ -f "$data/postmaster.pid" ] && ! alive "$(head -1 "$data/postmaster.pid")"; then
        rm -f "$data/postmaster.pid" "$sock/.s.PGSQL.$pg_port.lock"
    fi
    if [ -f "$data/postmaster.pid" ] && as_postgres "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        echo "postgres: already running on port $pg_port"; return
    fi
    port_is_free "$pg_port" || { echo "postgres: port $pg_port is taken; set PG_PORT" >&2; exit 1; }
    mkdir -p "$run_dir/postgres" "$sock"
    [ "$(id -u)" = 0 ] && chown -R postgres "$run_dir/postgres"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_postgres "$pg_bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$run_dir/postgres/initdb.log" 2>&1 \
            || { cat "$run_dir/postgres/initdb.log" >&2; exit 1; }
    fi
    local options="-p $pg_port -k $sock -c listen_addresses=127.0.0.1 -c max_connections=300"
    [ "${PG_FAST:-0}" = 1 ] && options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # Any further server settings, e.g. PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements".
    [ -n "${PG_OPTIONS:-}" ] && options="$options $PG_OPTIONS"
    as_postgres "$pg_bin/pg_ctl" -D "$data" -l "$run_dir/postgres/server.log" -o "$options" -w -t 60 start >/dev/null \
        || { tail -20 "$run_dir/postgres/server.log" >&2; exit 1; }
    for db in daytrader audit; do
        psql -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='daytrader'" | grep -q 1 \
            || psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE ROLE daytrader LOGIN"
        psql -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
            || psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE $db OWNER daytrader"
    done
    echo "postgres: running on 127.0.0.1:$pg_port"
}

stop_postgres() {
    local data="$run_dir/postgres/data"
    [ -f "$data/postmaster.pid" ] || return 0
    as_postgres "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    echo "postgres: stopped"
}

start_redis() {
    local pidfile="$run_dir/redis/redis.pid"
    if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then
        echo "redis: already running on port $redis_port"; return
    fi
    port_is_free "$redis_port" || { echo "redis: port $redis_port is taken; set REDIS_PORT" >&2; exit 1; }
    mkdir -p "$run_dir/redis"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --pidfile "$pidfile" --logfile "$run_dir/redis/redis.log" --dir "$run_dir/redis"
    for _ in $(seq 300); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && { echo "redis: running on 127.0.0.1:$redis_port"; return; }
        sleep 0.1
    done
    echo "redis: did not start; see $run_dir/redis/redis.log" >&2; exit 1
}

stop_redis() {
    local pidfile="$run_dir/redis/redis.pid"
    [ -f "$pidfile" ] || return 0
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    rm -f "$pidfile"
    echo "redis: stopped"
}

# The command prefix that runs a RabbitMQ program (the server or a CLI tool) against this run
# directory's node: as the `rabbitmq` user when root, with the node's whole environment, so that
# the server and every CLI call agree on the node name, ports, directories and Erlang cookie.
rabbitmq_prefix=()
[ "$(id -u)" = 0 ] && rabbitmq_prefix=(runuser -u rabbitmq --)
rabbitmq_prefix+=(env
    HOME="$rabbitmq_dir"
    RABBITMQ_NODENAME="$rabbitmq_node"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$rabbitmq_port"
    RABBITMQ_DIST_PORT="$rabbitmq_dist_port"
    RABBITMQ_MNESIA_BASE="$rabbitmq_dir/mnesia"
    RABBITMQ_LOG_BASE="$rabbitmq_dir/log"
    RABBITMQ_PID_FILE="$rabbitmq_dir/rabbitmq.pid"
    RABBITMQ_CONFIG_FILE="$rabbitmq_dir/rabbitmq.conf"
    RABBITMQ_ADVANCED_CONFIG_FILE="$rabbitmq_dir/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$rabbitmq_dir/enabled_plugins"
    RABBITMQ_CONF_ENV_FILE="$rabbitmq_dir/rabbitmq-env.conf"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    ERL_EPMD_ADDRESS=127.0.0.1)

rabbitmq_env() {
    "${rabbitmq_prefix[@]}" "$@"
}

# Prints the node's pid if its pid file names a live process.
rabbitmq_pid() {
    local pid
    pid=$(cat "$rabbitmq_dir/rabbitmq.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && alive "$pid" && echo "$pid"
}

start_rabbitmq() {
    if rabbitmq_pid >/dev/null; then
        echo "rabbitmq: already running on port $rabbitmq_port"; return
    fi
    [ -x "$rabbitmq_bin/rabbitmq-server" ] \
        || { echo "rabbitmq: rabbitmq-server is not installed (run scripts/install-deps.sh)" >&2; exit 1; }
    port_is_free "$rabbitmq_port" || { echo "rabbitmq: port $rabbitmq_port is taken; set RABBITMQ_PORT" >&2; exit 1; }
    port_is_free "$rabbitmq_dist_port" || {
        echo "rabbitmq: Erlang distribution port $rabbitmq_dist_port is taken; set RABBITMQ_DIST_PORT (or RABBITMQ_PORT)" >&2
        exit 1
    }
    mkdir -p "$rabbitmq_dir/mnesia" "$rabbitmq_dir/log"
    # No plugins (management and the like only slow the start down) and only the settings that
    # differ from the defaults. The empty env file keeps /etc/rabbitmq/rabbitmq-env.conf out.
    echo '[].' >"$rabbitmq_dir/enabled_plugins"
    : >"$rabbitmq_dir/rabbitmq-env.conf"
    printf '%s\n' "listeners.tcp.default = 127.0.0.1:$rabbitmq_port" "log.console = false" \
        >"$rabbitmq_dir/rabbitmq.conf"
    rm -f "$rabbitmq_dir/rabbitmq.pid"
    if [ "$(id -u)" = 0 ]; then
        chown -R rabbitmq: "$rabbitmq_dir"
        runuser -u rabbitmq -- test -w "$rabbitmq_dir" || {
            echo "rabbitmq: the rabbitmq user cannot write $rabbitmq_dir (is a parent directory private?)" >&2
            exit 1
        }
    fi
    # In a session of its own and with its standard descriptors redirected (the others are closed
    # at the top), so that the node outlives this script and holds none of the caller's pipes.
    (exec "${rabbitmq_prefix[@]}" setsid "$rabbitmq_bin/rabbitmq-server" </dev/null >"$rabbitmq_dir/log/startup.log" 2>&1) &
    local server=$!
    # The AMQP listener opens near the end of the boot; the official check then confirms. The
    # limit is generous: on a loaded 2-core machine the Erlang boot alone can take half a minute.
    local deadline=$((SECONDS + 120))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if ! alive "$server"; then
            echo "rabbitmq: exited during startup; see $rabbitmq_dir/log" >&2
            tail -20 "$rabbitmq_dir/log/startup.log" >&2
            exit 1
        fi
        if ! port_is_free "$rabbitmq_port" \
            && timeout 30 "${rabbitmq_prefix[@]}" "$rabbitmq_bin/rabbitmq-diagnostics" -q check_running >/dev/null 2>&1; then
            echo "rabbitmq: running on 127.0.0.1:$rabbitmq_port (node $rabbitmq_node)"
            return
        fi
        sleep 0.1
    done
    echo "rabbitmq: did not start within 120 s; see $rabbitmq_dir/log" >&2
    exit 1
}

stop_rabbitmq() {
    local pid
    pid=$(rabbitmq_pid) || { rm -f "$rabbitmq_dir/rabbitmq.pid"; return 0; }
    # With the pid file, `rabbitmqctl stop` returns once the node's OS process has exited.
    # Bounded: a node that no longer answers its CLI gets SIGTERM below instead of a hung caller.
    timeout 60 "${rabbitmq_prefix[@]}" "$rabbitmq_bin/rabbitmqctl" -q stop "$rabbitmq_dir/rabbitmq.pid" >/dev/null 2>&1 || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
        echo "rabbitmq: rabbitmqctl stop did not stop pid $pid; sending SIGTERM" >&2
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$rabbitmq_dir/rabbitmq.pid"
    echo "rabbitmq: stopped"
}

case "$action" in
    start) start_postgres; start_redis; start_rabbitmq ;;
    stop) stop_rabbitmq; stop_redis; stop_postgres ;;
    start-rabbitmq) start_rabbitmq ;;
    stop-rabbitmq) stop_rabbitmq ;;
    rabbitmqctl) shift 2; rabbitmq_env "$rabbitmq_bin/rabbitmqctl" "$@" ;;
    env)
        echo "export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=$pg_port POSTGRES_USER=daytrader POSTGRES_DATABASE=daytrader"
        echo "export REDIS_HOST=127.0.0.1 REDIS_PORT=$redis_port"
        echo "export RABBITMQ_HOST=127.0.0.1 RABBITMQ_PORT=$rabbitmq_port RABBITMQ_USER=guest RABBITMQ_PASSWORD=guest RABBITMQ_VHOST=/"
        ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
