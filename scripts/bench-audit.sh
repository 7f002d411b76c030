#!/usr/bin/env bash
# Measures the audit server (release build): the rate at which it stores events from RabbitMQ,
# and its peak memory while it writes a DUMPLOG of all of them.
#
#   scripts/bench-audit.sh [EVENTS]        # default 1000000
#
# Starts private services under run/bench-audit (ports BENCH_PG_PORT 25452, BENCH_REDIS_PORT
# 26399, BENCH_RABBITMQ_PORT 25692; services.sh starts Redis too, which nothing here uses), a
# fresh audit database, one audit server (HTTP on BENCH_AUDIT_PORT, 18090) and a stand-in for the
# transaction servers' outbox barrier (BENCH_BARRIER_PORT, 18091): there are no transaction
# servers, so no outbox, and the barrier holds at once. Stops everything at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
events=${1:-1000000}
run_dir=$PWD/run/bench-audit
export PG_PORT=${BENCH_PG_PORT:-25452} REDIS_PORT=${BENCH_REDIS_PORT:-26399} RABBITMQ_PORT=${BENCH_RABBITMQ_PORT:-25692}
http_port=${BENCH_AUDIT_PORT:-18090}
barrier_port=${BENCH_BARRIER_PORT:-18091}

swift build -c release --product audit-server >/dev/null
swift build -c release --product audit-bench >/dev/null
bin=$(swift build -c release --show-bin-path)

scripts/services.sh start "$run_dir"
audit_pid=
barrier_pid=
cleanup() {
    [ -n "$audit_pid" ] && kill "$audit_pid" 2>/dev/null && wait "$audit_pid" 2>/dev/null || true
    [ -n "$barrier_pid" ] && kill "$barrier_pid" 2>/dev/null && wait "$barrier_pid" 2>/dev/null || true
    scripts/services.sh stop "$run_dir" >/dev/null
}
trap cleanup EXIT
eval "$(scripts/services.sh env "$run_dir")"

psql_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtAc "$1"; }
psql_admin "DROP DATABASE IF EXISTS bench_audit" && psql_admin "CREATE DATABASE bench_audit OWNER daytrader"
# POST /internal/audit-barrier as a transaction server answers it when its outbox is empty.
python3 -c '
import http.server, sys
class Barrier(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Barrier).serve_forever()
' "$barrier_port" &
barrier_pid=$!

export AUDIT_DATABASE=bench_audit AUDIT_EXCHANGE=bench AUDIT_QUEUE=bench TRADING_URL=http://127.0.0.1:$barrier_port
export HTTP_PORT=$http_port AUDIT_DUMP_DIRECTORY=$run_dir/dumps LOG_LEVEL=warning
export API_SERVICE_TOKEN=${API_SERVICE_TOKEN:-$(random_hex 32)}
scripts/services.sh rabbitmqctl "$run_dir" delete_queue bench >/dev/null 2>&1 || true
"$bin/audit-server" >"$run_dir/audit-server.log" 2>&1 &
audit_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/health/ready" >/dev/null && break; sleep 0.1; done

echo "== ingest: $events events through RabbitMQ into the audit database"
"$bin/audit-bench" --events "$events"
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$audit_pid/status")
hwm_before=$(awk '/VmHWM/ {print $2}' "/proc/$audit_pid/status")

echo "== DUMPLOG of all of them"
start=$(date +%s%N)
status=$(curl -s -o "$run_dir/response.xml" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $API_SERVICE_TOKEN" \
    --data '{"filename":"bench.xml"}' "http://127.0.0.1:$http_port/api/dumplog")
end=$(date +%s%N)
hwm_after=$(awk '/VmHWM/ {print $2}' "/proc/$audit_pid/status")
size=$(stat -c %s "$run_dir/dumps/service/bench.xml")
count=$(grep -c '^	<userCommand>' "$run_dir/dumps/service/bench.xml" || true)
echo "status $status; $(( (end - start) / 1000000 )) ms; $((size / 1048576)) MiB; $count userCommand elements"
echo "audit-server memory: RSS before the dump $((rss_before / 1024)) MiB; peak (VmHWM) before $((hwm_before / 1024)) MiB, after $((hwm_after / 1024)) MiB"

schema=../shared/course/logfile-current.xsd
[ -f "$schema" ] || schema=audit/logfile.xsd
if xmllint --noout --stream --schema "$schema" "$run_dir/dumps/service/bench.xml" 2>"$run_dir/xmllint.log"; then
    echo "the dump validates against $schema"
else
    echo "the dump does NOT validate against $schema: $(head -3 "$run_dir/xmllint.log")"; exit 1
fi
