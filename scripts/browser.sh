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
export AUDIT_PORT=${AUDIT_PORT:-8590} QUOTE_PORT=${QUOTE_PORT:-4844}
export PG_PORT=${PG_PORT:-25932} REDIS_PORT=${REDIS_PORT:-26879} RABBITMQ_PORT=${RABBITMQ_PORT:-26172}
export LOG_LEVEL=${LOG_LEVEL:-warning} QUOTE_LIFETIME_MS=${QUOTE_LIFETIME_MS:-5000} API_AUTH=on

for program in chromium chromedriver; do
    command -v "$program" >/dev/null || { echo "$program is missing: scripts/install-deps.sh installs it" >&2; exit 1; }
done
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "selenium==$selenium_version"
fi

finish() { "$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true; }
trap finish EXIT
"$repo/scripts/stack.sh" down "$run_dir" >/dev/null 2>&1 || true
rm -rf "$run_dir" "$out"
mkdir -p "$out" "$screenshots"
"$repo/scripts/stack.sh" up "$run_dir" >"$out/stack.log" 2>&1 || { cat "$out/stack.log" >&2; exit 1; }
export_service_token "$run_dir"

# The staff, made by an operator (traders sign up on the page).
staff_password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
(
    eval "$("$repo/scripts/stack.sh" env "$run_dir")"
    for role in auditor supervisor; do
        DAYTRADER_ACCOUNT_PASSWORD=$staff_password "$bin/transaction-server" add-account --name "page_$role" --role "$role" >/dev/null
    done
)

status=0
SE_OFFLINE=true "$venv/bin/python" "$repo/Tests/browser/pages_test.py" \
    --url "http://127.0.0.1:$FRONT_PORT" --quote-port "$QUOTE_PORT" --staff-password "$staff_password" \
    --screenshots "$screenshots" 2>&1 | tee "$out/pages_test.log" || status=$?
reconcile_stack "$run_dir" >"$out/reconcile.txt" || { cat "$out/reconcile.txt"; status=1; }
[ "$status" = 0 ] && echo "browser: passed" || echo "browser: FAILED (see $out)"
exit "$status"
