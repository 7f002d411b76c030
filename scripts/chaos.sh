#!/usr/bin/env bash
# `make chaos`: the stack exactly as `make demo` runs it (release build, freshly reset) replays a
# workload (default: the course's 100-user file) at a fixed rate while a seeded schedule does,
# one fault at a time with traffic between: kill -9 a transaction server, PostgreSQL's
# postmaster, Redis, RabbitMQ and the audit server (each then started again, PostgreSQL through
# crash recovery); restart HAProxy; make the quote server stall (no answer for longer than the
# servers' quote timeout) and then drop connections. Then the final DUMPLOG, xmllint, the
# auditor's reconciliation, and a table per fault: seconds down, requests retried, commands lost,
# commands applied twice, events lost, events doubled (scripts/chaos/report.py). Exit status 0
# only when the last four are 0 everywhere, the log is valid with exactly one userCommand per
# line, and reconciliation passes.
#
# Settings (environment): WORKLOAD (path), RATE (commands/s, default 400), SEED (the schedule's
# order, default 468), GAP (seconds of traffic before each fault, default 8), OUT_DIR (default
# out/chaos), BIN_DIR, and the ports of scripts/stack.sh (defaults below, apart from make up's and
# make bench's).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/scripts/lib.sh"
workload=${WORKLOAD:-$repo/../shared/course/workloads/100User_testWorkLoad}
rate=${RATE:-400}
seed=${SEED:-468}
gap=${GAP:-8}
run_dir=${RUN_DIR:-$repo/run/chaos}
out=${OUT_DIR:-$repo/out/chaos}
bin=${BIN_DIR:-$(cd "$repo" && swift build -c release --show-bin-path)}
export BIN_DIR=$bin
export FRONT_PORT=${FRONT_PORT:-8280} STATS_PORT=${STATS_PORT:-8604} SERVER_BASE_PORT=${SERVER_BASE_PORT:-8280}
export AUDIT_PORT=${AUDIT_PORT:-8290} QUOTE_PORT=${QUOTE_PORT:-4644}
export PG_PORT=${PG_PORT:-25732} REDIS_PORT=${REDIS_PORT:-26679} RABBITMQ_PORT=${RABBITMQ_PORT:-25972}
export LOG_LEVEL=${LOG_LEVEL:-notice}

[ -f "$workload" ] || { echo "no workload file at '$workload' (set WORKLOAD=path)" >&2; exit 1; }
for program in workload-generator transaction-server audit-server quote-server reconcile; do
    [ -x "$bin/$program" ] || { echo "$bin/$program is missing: build first (swift build -c release)" >&2; exit 1; }
done

generator=
finish() {
    [ -n "$generator" ] && kill "$generator" 2>/dev/null || true
    "$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true
}
trap finish EXIT

"$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true
rm -rf "$run_dir" "$out"
mkdir -p "$out"
"$repo/scripts/stack.sh" up "$run_dir" >"$out/stack.log" 2>&1 || { cat "$out/stack.log" >&2; exit 1; }
export_service_token "$run_dir"

now_ms() { date +%s%3N; }
# Brings back whatever is not running (stack.sh up starts only what is missing).
restart() { "$repo/scripts/stack.sh" up "$run_dir" >>"$out/stack.log" 2>&1; }
dead() { ! alive "$1"; }
ready() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }
# Waits until the command succeeds (at most 180 s).
await() { local deadline=$((SECONDS + 180)); until "$@"; do [ "$SECONDS" -lt "$deadline" ] || return 1; sleep 0.2; done; }
front_ready() { ready "http://127.0.0.1:$STATS_PORT/health/ready"; }
# One line to the quote server and its answer (bash's /dev/tcp: no netcat needed).
quote_line() { timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "%s\n" "$2" >&3; head -1 <&3' _ "$QUOTE_PORT" "$1" 2>/dev/null; }
quote_answers() { [ "$(quote_line 'ABC,chaos' | tr -cd ',' | wc -c)" -ge 4 ]; }
# The workload generator's retries so far (its progress line, every 5 s).
retries() { grep -o 'retries [0-9]*' "$out/generator.log" 2>/dev/null | tail -1 | cut -d' ' -f2 || true; }

fault() {
    case "$1" in
        transaction-server)
            kill -9 "$(cat "$run_dir/ts1/pid")"; sleep 1; restart; await front_ready ;;
        postgresql)
            local postmaster children
            postmaster=$(head -1 "$run_dir/postgres/data/postmaster.pid")
            children=$(pgrep -P "$postmaster" | tr '\n' ' ' || true)
            kill -9 "$postmaster"
            # Its backends notice and leave; PostgreSQL starts again only once they have.
            for pid in $children; do await dead "$pid"; done
            restart; await front_ready ;;
        redis)
            kill -9 "$(cat "$run_dir/redis/redis.pid")"; sleep 1; restart; await bash -c "redis-cli -p $REDIS_PORT ping >/dev/null 2>&1" ;;
        rabbitmq)
            kill -9 "$(cat "$run_dir/rabbitmq/rabbitmq.pid")"; sleep 1; restart ;;
        audit-server)
            kill -9 "$(cat "$run_dir/audit-server/pid")"; sleep 1; restart; await ready "http://127.0.0.1:$AUDIT_PORT/health/ready" ;;
        haproxy)
            kill "$(cat "$run_dir/haproxy/pid")"; sleep 1; restart; await front_ready ;;
        # The next 5 quote requests, the servers' first, are never answered (or closed at once);
        # down until the quote server answers a request of ours again.
        quote-stall)
            quote_line '!STALL 5' >/dev/null; sleep 6; await quote_answers ;;
        quote-drop)
            quote_line '!DROP 5' >/dev/null; sleep 6; await quote_answers ;;
    esac
}

echo "chaos: replaying $workload at $rate commands/s through http://127.0.0.1:$FRONT_PORT (seed $seed)"
"$bin/workload-generator" run "$workload" --url "http://127.0.0.1:$FRONT_PORT" --rate "$rate" --max-attempts 100 \
    --concurrency "$(sed 's/^\[[0-9]*\] *//' "$workload" | cut -d, -f2 | tr -d ' \r' | sort -u | wc -l)" \
    --output "$out/log.xml" --json "$out/report.json" >"$out/generator.log" 2>&1 &
generator=$!

faults=$(python3 -c "import random, sys; f = sys.argv[2:]; random.Random(int(sys.argv[1])).shuffle(f); print(' '.join(f))" \
    "$seed" transaction-server postgresql redis rabbitmq audit-server haproxy quote-stall quote-drop)
: >"$out/faults.tsv"
for name in $faults; do
    sleep "$gap"
    alive "$generator" || { echo "chaos: the replay ended before the '$name' fault: slow RATE down or shorten GAP" >&2; break; }
    started=$(now_ms)
    echo "chaos: $name"
    retried=$(retries)
    fault "$name" || { echo "chaos: $name did not recover within 180 s; see $out/stack.log and $run_dir" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\n' "$name" "$started" "$(now_ms)" "${retried:-0}" >>"$out/faults.tsv"
done
status=0
wait "$generator" || status=$?
generator=
[ "$status" = 0 ] || echo "chaos: the workload generator exited with $status (see $out/generator.log)" >&2

schema=$(log_schema)
valid=no
xmllint --noout --stream --schema "$schema" "$out/log.xml" 2>"$out/xmllint.log" && valid=yes
reconciled=0
reconcile_stack "$run_dir" --show 1000000 >"$out/reconcile.txt" 2>&1 || reconciled=$?
python3 "$repo/scripts/chaos/report.py" "$out" "$workload" "$valid" "$reconciled" | tee "$out/summary.txt"
