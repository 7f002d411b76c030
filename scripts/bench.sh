#!/usr/bin/env bash
# `make bench`: the whole stack exactly as `make demo` runs it (release build, 2 transaction servers
# behind HAProxy, PostgreSQL with fsync and synchronous_commit on, persistent audit messages with
# publisher confirms, the audit server storing every event), freshly reset, replays a workload
# (default: the course's 100-user file) and prints:
#   - commands/s to the last answer, and to the complete log (DUMPLOG saved; then validated);
#   - latency percentiles per command;
#   - each process's CPU seconds and peak resident memory, and the whole stack's peak PSS;
#   - this machine's ceiling for a command as one database call (pgbench on the reference function
#     in scripts/bench/ceiling.sql, on the stack's PostgreSQL while the stack is idle, once before
#     and once after the replay: the machine is shared, and its speed drifts), and the stack's
#     rate as a ratio of their mean.
#
# Settings (environment): WORKLOAD (path), RATE (commands/s for the generator's --rate; default no
# limit), CONCURRENCY (users whose commands run at once; default every user of the workload, as
# each user is a trader of their own), BENCH_OUT (default
# out/bench), CEILING_SECONDS (pgbench duration, default 20), CEILING_CLIENTS (default 8), and every
# setting of scripts/stack.sh. The ports default away from `make up`'s, so both can run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/scripts/lib.sh"
workload=${WORKLOAD:-$repo/../shared/course/workloads/100User_testWorkLoad}
run_dir=$repo/run/bench
out=${BENCH_OUT:-$repo/out/bench}
bin=${BIN_DIR:-$(cd "$repo" && swift build -c release --show-bin-path)}
export BIN_DIR=$bin
export FRONT_PORT=${FRONT_PORT:-8180} STATS_PORT=${STATS_PORT:-8504} SERVER_BASE_PORT=${SERVER_BASE_PORT:-8180}
export AUDIT_PORT=${AUDIT_PORT:-8190} QUOTE_PORT=${QUOTE_PORT:-4544}
export PG_PORT=${PG_PORT:-25632} REDIS_PORT=${REDIS_PORT:-26579} RABBITMQ_PORT=${RABBITMQ_PORT:-25872}
export LOG_LEVEL=${LOG_LEVEL:-notice}

[ -f "$workload" ] || { echo "no workload file at '$workload' (set WORKLOAD=path)" >&2; exit 1; }
for program in workload-generator transaction-server audit-server quote-server; do
    [ -x "$bin/$program" ] || { echo "$bin/$program is missing: build first (swift build -c release)" >&2; exit 1; }
done

sampler=
finish() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
    "$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true
}
trap finish EXIT

fresh_stack "$run_dir" "$out"

# The ceiling, into $1: pgbench on the reference function in a database of its own, then dropped.
ceiling() {
    echo "ceiling: pgbench on the reference function (scripts/bench/ceiling.sql), ${CEILING_SECONDS:-20} s, ${CEILING_CLIENTS:-8} clients"
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE ceiling OWNER daytrader"
    psql -h 127.0.0.1 -p "$PG_PORT" -U daytrader -d ceiling -q -f "$repo/scripts/bench/ceiling.sql" >/dev/null
    pgbench -h 127.0.0.1 -p "$PG_PORT" -U daytrader -n -M prepared -c "${CEILING_CLIENTS:-8}" -j 2 -T "${CEILING_SECONDS:-20}" \
        -f "$repo/scripts/bench/ceiling-call.sql" ceiling >"$1" 2>&1 || { cat "$1" >&2; exit 1; }
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "DROP DATABASE ceiling"
}
ceiling "$out/pgbench.log"

python3 "$repo/scripts/bench/sample.py" "$run_dir" "$out/processes.json" &
sampler=$!
extra=()
[ -n "${RATE:-}" ] && extra+=(--rate "$RATE")
# Every user at once unless told otherwise (the second field of each line; DUMPLOG's file name
# counts as one more, which changes nothing).
concurrency=${CONCURRENCY:-$(sed 's/^\[[0-9]*\] *//' "$workload" | cut -d, -f2 | tr -d ' \r' | sort -u | wc -l)}
extra+=(--concurrency "$concurrency")
echo "replaying $workload through http://127.0.0.1:$FRONT_PORT, $concurrency users at once"
"$bin/workload-generator" run "$workload" --url "http://127.0.0.1:$FRONT_PORT" --output "$out/log.xml" \
    --json "$out/report.json" "${extra[@]}" >"$out/generator.log" 2>&1 || { tail -40 "$out/generator.log" >&2; exit 1; }
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=
ceiling "$out/pgbench-after.log"

schema=$(log_schema)
valid=no
xmllint --noout --stream --schema "$schema" "$out/log.xml" 2>"$out/xmllint.log" && valid=yes
python3 "$repo/scripts/bench/summary.py" "$out" "$valid" "$schema" | tee "$out/summary.txt"
[ "$valid" = yes ] || { echo "the log is NOT valid: see $out/xmllint.log" >&2; exit 1; }
