#!/usr/bin/env bash
# `make demo`: the whole stack up, a workload replayed through HAProxy by the workload generator,
# the audit log written to out/log.xml and validated, the report printed, the stack stopped.
#
# Each demo starts from a freshly reset system (no accounts, events or queued messages of an
# earlier run), so its log is the log of its workload alone; KEEP_STATE=1 keeps what the last
# run left instead.
#
# Sign-in is on (API_AUTH): the generator sends the stack's service token; the demo makes a
# trader, an auditor and a supervisor to sign in with on the page, and prints their passwords
# (new ones each run, kept in RUN_DIR/demo-accounts).
#
# Settings (environment): WORKLOAD (default workloads/50User_synthetic), KEEP=1 leaves the stack
# up (make demo's default, for the page), KEEP_STATE=1 (see above), RUN_DIR (default run/stack), OUT_DIR (default out), BIN_DIR
# (default: the release build's bin path), and every setting of scripts/stack.sh (SERVERS,
# FRONT_PORT, ...).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/scripts/lib.sh"
run_dir=${RUN_DIR:-$repo/run/stack}
workload=${WORKLOAD:-$repo/workloads/50User_synthetic}
out=${OUT_DIR:-$repo/out}
bin=${BIN_DIR:-$(cd "$repo" && swift build -c release --show-bin-path)}
export BIN_DIR=$bin

[ -f "$workload" ] || { echo "no workload file at '$workload' (set WORKLOAD=path)" >&2; exit 1; }
[ -x "$bin/workload-generator" ] || { echo "$bin/workload-generator is missing: build first (swift build -c release)" >&2; exit 1; }

finish() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "KEEP=1: the stack stays up (make status, make down)"
    else
        "$repo/scripts/stack.sh" down "$run_dir"
    fi
}
trap finish EXIT

if [ "${KEEP_STATE:-0}" != 1 ]; then
    "$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true
    rm -rf "$run_dir"
fi
"$repo/scripts/stack.sh" up "$run_dir"
export_service_token "$run_dir"

# The people who sign in on the page (KEEP_STATE keeps those of an earlier run).
accounts=$run_dir/demo-accounts
if [ ! -s "$accounts" ]; then
    (
        eval "$("$repo/scripts/stack.sh" env "$run_dir")"
        for entry in trader:trader auditor:auditor supervisor:supervisor; do
            password=$(random_hex 12)
            DAYTRADER_ACCOUNT_PASSWORD=$password LOG_LEVEL=warning "$bin/transaction-server" add-account --name "demo_${entry%%:*}" --role "${entry##*:}" >/dev/null
            echo "${entry##*:} demo_${entry%%:*} $password"
        done
    ) >"$accounts.partial"
    mv "$accounts.partial" "$accounts"
fi

mkdir -p "$out"
rm -rf "$out/summaries"
echo "replaying $workload through http://127.0.0.1:${FRONT_PORT:-8080}"
"$bin/workload-generator" run "$workload" --url "http://127.0.0.1:${FRONT_PORT:-8080}" \
    --output "$out/log.xml" --json "$out/report.json" --summaries "$out/summaries"

schema=$(log_schema)
xmllint --noout --stream --schema "$schema" "$out/log.xml"
# The auditor's reconciliation: balances, ledger and log agree one for one.
reconcile_stack "$run_dir"
echo "$out/log.xml ($(du -h "$out/log.xml" | cut -f1)) is valid against $schema; report in $out/report.json"
echo
echo "The page: http://127.0.0.1:${FRONT_PORT:-8080}/  (sign up as a trader there, or sign in as:)"
while read -r role name password; do printf '  %-10s %-16s password %s\n' "$role" "$name" "$password"; done <"$accounts"
