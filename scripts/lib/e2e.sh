# Shared by the client suites (scripts/sdk-e2e.sh, node-e2e.sh, ansible-e2e.sh, ui-e2e.sh): a pinned
# Python venv, the ecsd binary, and one ecsd on a free 127.0.0.1 port with a fresh database,
# stopped by its PID when the script exits. Source it after setting E2E_NAME (used in messages
# and temporary folder names):
#
#   E2E_NAME=sdk-e2e
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/e2e.sh"
#
# It sets ROOT (the repository root, also the working directory), makes a relative ECSD_BIN
# absolute, and exports NO_PROXY for 127.0.0.1.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# A relative $ECSD_BIN is relative to the caller's directory, not the repository root.
if [[ -n "${ECSD_BIN:-}" && "$ECSD_BIN" != /* ]]; then
    ECSD_BIN="$PWD/$ECSD_BIN"
fi
cd "$ROOT" || exit 2

export NO_PROXY="127.0.0.1,localhost,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"
READY_TIMEOUT="${ECSD_READY_TIMEOUT:-30}"

log() { printf '%s: %s\n' "$E2E_NAME" "$*" >&2; }

# e2e_venv VENV REQUIREMENTS: creates VENV if needed and installs REQUIREMENTS into it when
# they (or the Python version) changed since the last install.
e2e_venv() {
    local venv="$1" requirements="$2"
    local py="$venv/bin/python"
    if [[ ! -x "$py" ]] || ! "$py" -c 'import sys' 2>/dev/null; then
        log "creating venv $venv"
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    local stamp="$venv/.requirements.sha256" want
    want="$( { cat "$requirements"; "$py" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
        log "installing $requirements into $venv"
        "$py" -m pip install --quiet --disable-pip-version-check -r "$requirements"
        printf '%s\n' "$want" > "$stamp"
    fi
}

# e2e_binary: sets ECSD_BIN, building ecsd (cargo build -p ecsd) when it is not given.
e2e_binary() {
    if [[ -z "${ECSD_BIN:-}" ]]; then
        log "building ecsd (cargo build -p ecsd)"
        cargo build -p ecsd
        ECSD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ecsd"
    fi
    if [[ ! -x "$ECSD_BIN" ]]; then
        log "ecsd binary not found or not executable: $ECSD_BIN"
        exit 2
    fi
}

DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ecsd-$E2E_NAME.XXXXXX")"
ECSD_PID=""
ECSD_LOG="$DATA_DIR/ecsd.log"

# shellcheck disable=SC2317  # called by the EXIT trap
e2e_cleanup() {
    local rc=$?
    if [[ -n "$ECSD_PID" ]] && kill -0 "$ECSD_PID" 2>/dev/null; then
        kill "$ECSD_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$ECSD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$ECSD_PID" 2>/dev/null || true
        wait "$ECSD_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA_DIR"
    exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# e2e_show_log [LINES]: the tail of ecsd's log, on stderr.
e2e_show_log() {
    log "---- ecsd stderr ($ECSD_LOG) ----"
    tail -n "${1:-200}" "$ECSD_LOG" >&2 || true
    log "---- end of ecsd stderr ----"
}

# shellcheck disable=SC2120  # the arguments are optional
# e2e_start [SERVE ARGUMENTS...]: starts `ecsd serve` on 127.0.0.1 port 0 (ecsd picks a free port
# itself, so no other process can take it between choosing and binding) over a fresh database
# with --latency fast (and the arguments given), waits until it prints where it listens, and sets
# ECSD_ENDPOINT (exported) and ECSD_PID.
e2e_start() {
    log "starting $ECSD_BIN on 127.0.0.1, a free port (data in $DATA_DIR)"
    "$ECSD_BIN" serve --listen "127.0.0.1:0" --database "sqlite://$DATA_DIR/ecsd.db" \
        --latency fast --log-format text "$@" </dev/null >"$DATA_DIR/ecsd.stdout" 2>"$ECSD_LOG" &
    ECSD_PID=$!
    # ecsd prints "listening on http://ADDRESS" once the socket is bound.
    local deadline=$((SECONDS + READY_TIMEOUT)) address=""
    until address="$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$ECSD_LOG" 2>/dev/null | head -n 1)"
        [[ -n "$address" ]]; do
        if ! kill -0 "$ECSD_PID" 2>/dev/null; then
            log "ecsd (pid $ECSD_PID) exited before becoming ready"
            e2e_show_log 200
            exit 1
        fi
        if (( SECONDS >= deadline )); then
            log "ecsd not ready after ${READY_TIMEOUT}s"
            e2e_show_log 200
            exit 1
        fi
        sleep 0.1
    done
    export ECSD_ENDPOINT="http://$address"
    log "ecsd is ready on $address (pid $ECSD_PID)"
}

# e2e_npm_ci DIR: checks that $NODE is Node.js 20 or later (exit 2 otherwise) and runs
# `npm ci` in DIR when its package-lock.json or the node version changed since the last run
# (a stamp in node_modules). Sets node_version.
e2e_npm_ci() {
    local dir=$1 node_major stamp want_hash
    if ! node_version="$("$NODE" --version 2>/dev/null)"; then
        log "node not found ($NODE); Node.js 20 or later is needed"
        exit 2
    fi
    node_major="${node_version#v}"
    node_major="${node_major%%.*}"
    if [[ ! "$node_major" =~ ^[0-9]+$ ]] || (( node_major < 20 )); then
        log "Node.js 20 or later is needed (node:test); found $node_version"
        exit 2
    fi
    stamp="$dir/node_modules/.ecsd-lock.sha256"
    want_hash="$( { cat "$dir/package-lock.json"; echo "$node_version"; } | sha256sum | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want_hash" ]]; then
        log "npm ci in ${dir#"$ROOT"/}"
        (cd "$dir" && "$NPM" ci --no-audit --no-fund --loglevel=error)
        printf '%s\n' "$want_hash" > "$stamp"
    fi
}
