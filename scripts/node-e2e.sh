#!/usr/bin/env bash
# End-to-end tests of ecsd driven by the official Huawei Cloud Node.js SDK
# (@huaweicloud/huaweicloud-sdk-ecs 3.1.172, pinned with its core in tests/node/package-lock.json).
#
# Usage (from anywhere; paths are relative to the repository root):
#   scripts/node-e2e.sh                          # build ecsd (cargo build -p ecsd), start it, run tests/node
#   ECSD_BIN=path/to/ecsd scripts/node-e2e.sh
#   scripts/node-e2e.sh --test-name-pattern=lifecycle   # extra arguments go to `node --test`
#
# Environment:
#   ECSD_BIN             ecsd binary to test (default: build it and use target/debug/ecsd)
#   ECSD_ACCESS_KEY / ECSD_SECRET_KEY / ECSD_PROJECT_ID   account (default: the local account
#                        of the README; ecsd is started with the same values)
#   ECSD_READY_TIMEOUT   seconds to wait for ecsd to answer (default 30)
#   ECSD_JOB_TIMEOUT     seconds a test waits for a job to finish (default 60)
#   ECSD_NODE_SDK_LOG    set to 1 to let the SDK print its own log to stderr (every error
#                        response, with the request's headers)
#   NODE / NPM           node and npm to use (default: node, npm); Node >= 20
#
# Runs `npm ci` in tests/node when node_modules does not match package-lock.json (or the node
# version changed); exits with the status of `node --test`, non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A relative $ECSD_BIN is relative to the caller's directory, not the repository root.
if [[ -n "${ECSD_BIN:-}" && "$ECSD_BIN" != /* ]]; then
    ECSD_BIN="$PWD/$ECSD_BIN"
fi
cd "$ROOT"

NODE="${NODE:-node}"
NPM="${NPM:-npm}"
NODE_DIR="$ROOT/tests/node"
READY_TIMEOUT="${ECSD_READY_TIMEOUT:-30}"

export ECSD_ACCESS_KEY="${ECSD_ACCESS_KEY:-ECSDLOCALACCESSKEY01}"
export ECSD_SECRET_KEY="${ECSD_SECRET_KEY:-ecsdLocalSecretKey00000000000000000000001}"
export ECSD_PROJECT_ID="${ECSD_PROJECT_ID:-0123456789abcdef0123456789abcdef}"
export NO_PROXY="127.0.0.1,localhost,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

log() { printf 'node-e2e: %s\n' "$*" >&2; }

# --- 1. node and the pinned SDK ----------------------------------------------
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

STAMP="$NODE_DIR/node_modules/.ecsd-lock.sha256"
want_hash="$( { cat "$NODE_DIR/package-lock.json"; echo "$node_version"; } | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$want_hash" ]]; then
    log "npm ci in tests/node"
    (cd "$NODE_DIR" && "$NPM" ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$want_hash" > "$STAMP"
fi

# --- 2. the ecsd binary ----------------------------------------------------
if [[ -z "${ECSD_BIN:-}" ]]; then
    log "building ecsd (cargo build -p ecsd)"
    cargo build -p ecsd
    ECSD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ecsd"
fi
if [[ ! -x "$ECSD_BIN" ]]; then
    log "ecsd binary not found or not executable: $ECSD_BIN"
    exit 2
fi

# --- 3. start ecsd on a free port with a fresh data dir --------------------
DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ecsd-node-e2e.XXXXXX")"
ECSD_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
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
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$("$NODE" -e '
const s = require("node:net").createServer();
s.listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); });
')"
export ECSD_ENDPOINT="http://127.0.0.1:$PORT"
ECSD_LOG="$DATA_DIR/ecsd.log"

log "starting $ECSD_BIN on 127.0.0.1:$PORT (data in $DATA_DIR)"
"$ECSD_BIN" serve --listen "127.0.0.1:$PORT" --database "sqlite://$DATA_DIR/ecsd.db" --latency fast \
    </dev/null >"$DATA_DIR/ecsd.stdout" 2>"$ECSD_LOG" &
ECSD_PID=$!

show_log() {
    log "---- ecsd stderr ($ECSD_LOG) ----"
    tail -n "${1:-200}" "$ECSD_LOG" >&2 || true
    log "---- end of ecsd stderr ----"
}

# Ready when the flavor list answers 200. A 401/403 also proves it is serving
# (once signatures are enforced, this unsigned probe is refused).
ready_rc=0
"$NODE" - "$ECSD_ENDPOINT/v1/$ECSD_PROJECT_ID/cloudservers/flavors" "$ECSD_PID" "$READY_TIMEOUT" <<'EOF' || ready_rc=$?
const http = require('node:http');
const [url, pid, timeout] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const deadline = Date.now() + timeout * 1000;
let last = 'no answer';
const probe = () => new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(e.message));
});
(async () => {
    while (Date.now() < deadline) {
        try {
            process.kill(pid, 0);
        } catch {
            console.error(`node-e2e: ecsd (pid ${pid}) exited before becoming ready`);
            process.exit(3);
        }
        const got = await probe();
        if (got === 200 || got === 401 || got === 403) process.exit(0);
        last = typeof got === 'number' ? `HTTP ${got}` : got;
        await new Promise((r) => setTimeout(r, 100));
    }
    console.error(`node-e2e: ecsd not ready after ${timeout}s (last: ${last})`);
    process.exit(4);
})();
EOF
if [[ $ready_rc -ne 0 ]]; then
    show_log
    exit 1
fi
log "ecsd is ready (pid $ECSD_PID)"

# --- 4. the tests ------------------------------------------------------------
shopt -s nullglob
tests=("$NODE_DIR"/*.test.js)
if [[ ${#tests[@]} -eq 0 ]]; then
    log "no tests found in $NODE_DIR"
    exit 1
fi
rc=0
(cd "$NODE_DIR" && "$NODE" --test --test-reporter=spec "$@" "${tests[@]}") || rc=$?
if [[ $rc -ne 0 ]]; then
    show_log 60
fi
exit "$rc"
