#!/usr/bin/env bash
# `make soak MINUTES=N`: the stack as `make demo` runs it (release build, freshly reset) serves a
# generated workload at a fixed rate for N minutes (default 30) while every process's memory is
# sampled (scripts/bench/sample.py: each part's PSS every 4 s); then the final DUMPLOG, xmllint,
# reconciliation, and scripts/soak/report.py: after the warm-up (the first fifth of the run, at
# least a minute), no part may grow more than 10% (its median PSS in the run's last minute against
# that in the first minute after the warm-up).
#
# Settings (environment): MINUTES (30), RATE (commands/s, 300), USERS (200), SEED (468), OUT_DIR
# (out/soak), BIN_DIR, and the ports of scripts/stack.sh (defaults below).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/scripts/lib.sh"
minutes=${MINUTES:-30}
rate=${RATE:-300}
users=${USERS:-200}
seed=${SEED:-468}
run_dir=${RUN_DIR:-$repo/run/soak}
out=${OUT_DIR:-$repo/out/soak}
bin=${BIN_DIR:-$(cd "$repo" && swift build -c release --show-bin-path)}
export BIN_DIR=$bin
export FRONT_PORT=${FRONT_PORT:-8480} STATS_PORT=${STATS_PORT:-8804} SERVER_BASE_PORT=${SERVER_BASE_PORT:-8480}
export AUDIT_PORT=${AUDIT_PORT:-8490} QUOTE_PORT=${QUOTE_PORT:-4844}
export PG_PORT=${PG_PORT:-25932} REDIS_PORT=${REDIS_PORT:-26879} RABBITMQ_PORT=${RABBITMQ_PORT:-26172}
export LOG_LEVEL=${LOG_LEVEL:-notice}

sampler=
finish() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
    "$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true
}
trap finish EXIT
"$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true
rm -rf "$run_dir" "$out"
mkdir -p "$out"

workload=$out/workload
"$bin/workload-generator" generate --users "$users" --commands $((rate * minutes * 60)) --seed "$seed" --output "$workload" >/dev/null
"$repo/scripts/stack.sh" up "$run_dir" >"$out/stack.log" 2>&1 || { cat "$out/stack.log" >&2; exit 1; }
export_service_token "$run_dir"

python3 "$repo/scripts/bench/sample.py" "$run_dir" "$out/processes.json" &
sampler=$!
echo "soak: $minutes minutes at $rate commands/s, $users users, through http://127.0.0.1:$FRONT_PORT"
status=0
"$bin/workload-generator" run "$workload" --url "http://127.0.0.1:$FRONT_PORT" --rate "$rate" --concurrency "$users" \
    --output "$out/log.xml" --json "$out/report.json" >"$out/generator.log" 2>&1 || status=$?
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=
[ "$status" = 0 ] || echo "soak: the workload generator exited with $status (see $out/generator.log)" >&2

schema=$(log_schema)
valid=no
xmllint --noout --stream --schema "$schema" "$out/log.xml" 2>"$out/xmllint.log" && valid=yes
reconciled=0
reconcile_stack "$run_dir" >"$out/reconcile.txt" 2>&1 || reconciled=$?
python3 "$repo/scripts/soak/report.py" "$out" "$valid" "$reconciled" "$status" | tee "$out/summary.txt"
