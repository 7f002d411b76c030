#!/usr/bin/env bash
# Starts and stops the backing services (PostgreSQL, Redis) with private data directories on
# loopback, for tests and for the local stack. Everything lives under one run directory.
#
#   scripts/services.sh start RUN_DIR     # uses PG_PORT (default 55432), REDIS_PORT (default 56379)
#   scripts/services.sh stop RUN_DIR
#   scripts/services.sh env RUN_DIR       # prints the environment that points clients at them
#
# PostgreSQL refuses to run as root, so as root its commands run as the `postgres` user.
# PG_FAST=1 turns off fsync (tests only: a crash of the machine may lose committed data).
set -euo pipefail

action=${1:?usage: services.sh start|stop|env RUN_DIR}
run_dir=$(mkdir -p "${2:?usage: services.sh start|stop|env RUN_DIR}" && cd "$2" && pwd)
pg_port=${PG_PORT:-55432}
redis_port=${REDIS_PORT:-56379}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_postgres() {
    local data="$run_dir/postgres/data" sock="$run_dir/postgres/sock"
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
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "redis: already running on port $redis_port"; return
    fi
    port_is_free "$redis_port" || { echo "redis: port $redis_port is taken; set REDIS_PORT" >&2; exit 1; }
    mkdir -p "$run_dir/redis"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --pidfile "$pidfile" --logfile "$run_dir/redis/redis.log" --dir "$run_dir/redis"
    for _ in $(seq 50); do
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
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
    echo "redis: stopped"
}

case "$action" in
    start) start_postgres; start_redis ;;
    stop) stop_redis; stop_postgres ;;
    env)
        echo "export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=$pg_port POSTGRES_USER=daytrader POSTGRES_DATABASE=daytrader"
        echo "export REDIS_HOST=127.0.0.1 REDIS_PORT=$redis_port"
        ;;
    *) echo "usage: services.sh start|stop|env RUN_DIR" >&2; exit 2 ;;
esac
