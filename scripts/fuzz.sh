#!/usr/bin/env bash
# A bounded fuzz run of the HTTP API: schemathesis (PyPI, pinned below, installed into a venv of
# its own under run/) generates requests from the servers' own OpenAPI document
# (GET /openapi.yaml, which is docs/openapi.yaml), valid and invalid, against a freshly reset stack
# through HAProxy's front (every command, and DUMPLOG on the audit server). Checks: no 5xx (the
# stack's dependencies stay up, so not even a documented 503), every status and content type and
# body as documented. Then a DUMPLOG (its barrier), xmllint of the log, and reconciliation: no
# request, refused or not, may leave the money and the log disagreeing.
#
# Settings (environment): EXAMPLES (per operation, default 40), SEED (default 468), RUN_DIR,
# OUT_DIR (default out/fuzz), BIN_DIR, and the ports of scripts/stack.sh (defaults below).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/scripts/lib.sh"
schemathesis_version=4.32.5
examples=${EXAMPLES:-40}
seed=${SEED:-468}
run_dir=${RUN_DIR:-$repo/run/fuzz}
out=${OUT_DIR:-$repo/out/fuzz}
venv=${FUZZ_VENV:-$repo/run/venv-schemathesis-$schemathesis_version}
bin=${BIN_DIR:-$(cd "$repo" && swift build -c release --show-bin-path)}
export BIN_DIR=$bin
export FRONT_PORT=${FRONT_PORT:-8380} STATS_PORT=${STATS_PORT:-8704} SERVER_BASE_PORT=${SERVER_BASE_PORT:-8380}
export AUDIT_PORT=${AUDIT_PORT:-8390} QUOTE_PORT=${QUOTE_PORT:-4744}
export PG_PORT=${PG_PORT:-25832} REDIS_PORT=${REDIS_PORT:-26779} RABBITMQ_PORT=${RABBITMQ_PORT:-26072}
export LOG_LEVEL=${LOG_LEVEL:-warning}

ensure_venv "$venv" "schemathesis==$schemathesis_version"
finish() { "$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true; }
trap finish EXIT
fresh_stack "$run_dir" "$out"

front=http://127.0.0.1:$FRONT_PORT
status=0
# The operations routes are not on the public front (404 there by design); the document itself
# is plain YAML; an event stream (/api/events) never ends, so it has no response to check.
"$venv/bin/st" run "$front/openapi.yaml" --url "$front" --seed "$seed" --max-examples "$examples" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --exclude-path-regex '^/(health|metrics|internal|openapi|api/events)' --workers 2 --no-color \
    --header "Authorization: Bearer $API_SERVICE_TOKEN" \
    >"$out/schemathesis.log" 2>&1 || status=$?
tail -25 "$out/schemathesis.log"

dump=$(curl -s -o "$out/log.xml" -w '%{http_code}' --max-time 300 -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $API_SERVICE_TOKEN" \
    --data-binary '{"filename":"fuzz.xml"}' "$front/api/dumplog")
schema=$(log_schema)
if [ "$dump" != 200 ]; then
    echo "fuzz: DUMPLOG answered $dump: $(head -c 300 "$out/log.xml")" >&2; status=1
elif ! xmllint --noout --stream --schema "$schema" "$out/log.xml" 2>"$out/xmllint.log"; then
    echo "fuzz: the log is NOT valid: $out/xmllint.log" >&2; status=1
fi
reconcile_stack "$run_dir" | tee "$out/reconcile.txt" || status=1
[ "$status" = 0 ] && echo "fuzz: passed" || echo "fuzz: FAILED (see $out)"
exit "$status"
