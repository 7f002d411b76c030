#!/usr/bin/env bash
# Runs a command with a time limit: within.sh MINUTES COMMAND [ARGS...]
# On expiry the command's whole process group gets SIGTERM, then SIGKILL a minute later, and the
# exit status is 124 with a message saying so. `make test` runs each `swift test` through it, so
# a test that hangs ends the run long before CI's limit, with Swift Testing's "started" lines
# above naming the tests that never finished.
set -uo pipefail
minutes=$1; shift
timeout -k 60 "${minutes}m" "$@"
status=$?
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
    echo "within.sh: '$*' did not finish within $minutes minutes and was stopped;" \
        "look above for tests that started and never passed or failed" >&2
    exit 124
fi
exit "$status"
