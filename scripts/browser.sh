#!/usr/bin/env bash
# The web pages tested in a real browser: headless Chromium and chromedriver (Debian), driven
# by Selenium (PyPI, pinned below, in a venv of its own under run/), against a freshly reset
# stack of its own through HAProxy's front, with sign-in on (Tests/browser/pages_test.py says
# what is checked). Screenshots of each page go to SCREENSHOTS (default OUT_DIR/screenshots;
# `make screenshots` writes docs/screenshots).
#
# Settings (environment): RUN_DIR, OUT_DIR (default out/browser), SCREENSHOTS, BIN_DIR, and the
# ports of scripts/stack.sh (defaults below). A quote lives 5 s here, so that a trigger's stock is
# quoted again while the test watches (an order still lives 60 s).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/scripts/lib.sh"
selenium_version=4.51.0
run_dir=${RUN_DIR:-$repo/run/browser}
out=${OUT_DIR:-$repo/out/browser}
screenshots=${SCREENSHOTS:-$out/screenshots}
venv=${BROWSER_VENV:-$repo/run/venv-selenium-$selenium_version}
bin=${BIN_DIR:-$(cd "$repo" && swift build -c release --show-bin-path)}
export BIN_DIR=$bin
export FRONT_PORT=${FRONT_PORT:-8580} STATS_PORT=${STATS_PORT:-8904} SERVER_BASE_PORT=${SERVER_BASE_PORT:-8580}
export AUDIT_PORT=${AUDIT_PORT:-8590} QUOTE_PORT=${QUOTE_PORT:-4944}
export PG_PORT=${PG_PORT:-26032} REDIS_PORT=${REDIS_PORT:-26979} RABBITMQ_PORT=${RABBITMQ_PORT:-26272}
export LOG_LEVEL=${LOG_LEVEL:-warning} QUOTE_LIFETIME_MS=${QUOTE_LIFETIME_MS:-5000} API_AUTH=on

for program in chromium chromedriver; do
    command -v "$program" >/dev/null || { echo "$program is missing: scripts/install-deps.sh installs it" >&2; exit 1; }
done
ensure_venv "$venv" "selenium==$selenium_version"
finish() { "$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true; }
trap finish EXIT
fresh_stack "$run_dir" "$out"
mkdir -p "$screenshots"

# The staff, made by an operator (traders sign up on the page).
staff_password=$(random_hex 12)
(
    eval "$("$repo/scripts/stack.sh" env "$run_dir")"
    for role in auditor supervisor; do
        DAYTRADER_ACCOUNT_PASSWORD=$staff_password "$bin/transaction-server" add-account --name "page_$role" --role "$role" >/dev/null
    done
)

status=0
SE_OFFLINE=true "$venv/bin/python" "$repo/Tests/browser/pages_test.py" \
    --url "http://127.0.0.1:$FRONT_PORT" --quote-port "$QUOTE_PORT" --staff-password "$staff_password" \
    --screenshots "$screenshots" --downloads "$out/downloads" 2>&1 | tee "$out/pages_test.log" || status=$?
reconcile_stack "$run_dir" >"$out/reconcile.txt" || { cat "$out/reconcile.txt"; status=1; }
[ "$status" = 0 ] && echo "browser: passed" || echo "browser: FAILED (see $out)"
exit "$status"
