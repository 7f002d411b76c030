# Shared by scripts/services.sh and scripts/stack.sh; sourced, not run.

# Closes every descriptor inherited beyond stdin, stdout and stderr (bash's own script
# descriptor, 255, is close-on-exec), so that no server started by the script keeps one open.
# Callers do leak them: SwiftNIO's sockets are not close-on-exec, so a test process that runs a
# script hands it its listening sockets, and a server holding one would go on accepting
# connections on that port (and never answer them) after the test closed it.
close_inherited_descriptors() {
    local fd
    for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        case "$fd" in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
    done
}

# Whether the process runs. A process killed -9 stays a zombie where the init does not reap
# (this machine's does not), and kill -0 still succeeds on a zombie.
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ "${state:0:1}" != Z ]
}

# The schema a log is checked against: the course's (timestamps widened) when ../shared is beside
# the repository, else our own statement of it.
log_schema() {
    local repo
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if [ -f "$repo/../shared/course/logfile-current.xsd" ]; then
        echo "$repo/../shared/course/logfile-current.xsd"
    else
        echo "$repo/audit/logfile.xsd"
    fi
}

# The auditor's reconciliation (`reconcile`, from $BIN_DIR) of the stack whose run directory is $1;
# further arguments go to reconcile.
reconcile_stack() {
    (eval "$("$(dirname "${BASH_SOURCE[0]}")/stack.sh" env "$1")" && "$BIN_DIR/reconcile" "${@:2}")
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The service token of the stack whose run directory is $1 (scripts/stack.sh makes one there,
# unless API_SERVICE_TOKEN was set), exported for the workload generator and curl.
export_service_token() {
    [ -n "${API_SERVICE_TOKEN:-}" ] || API_SERVICE_TOKEN=$(cat "$1/service-token")
    export API_SERVICE_TOKEN
}

# A Python virtual environment at $1 holding the PyPI package $2 (`name==version`), made once.
ensure_venv() {
    if [ ! -x "$1/bin/python" ] || ! "$1/bin/pip" show --quiet "${2%%==*}" >/dev/null 2>&1; then
        python3 -m venv "$1"
        "$1/bin/pip" install --quiet "$2"
    fi
}

# A freshly reset stack (scripts/stack.sh) in the run directory $1: nothing of an earlier run's
# accounts, events or queues. $2 (also reset) gets its start-up log; its service token is exported.
# The caller stops it (a trap on EXIT).
fresh_stack() {
    local stack
    stack="$(dirname "${BASH_SOURCE[0]}")/stack.sh"
    "$stack" down "$1" >/dev/null 2>&1 || true
    rm -rf "$1" "$2"
    mkdir -p "$2"
    "$stack" up "$1" >"$2/stack.log" 2>&1 || { cat "$2/stack.log" >&2; exit 1; }
    export_service_token "$1"
}

# $1 random bytes, in hexadecimal: tokens and passwords.
random_hex() {
    head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'
}
