#!/usr/bin/env bash
# End-to-end tests of ecsd driven by the official Huawei Cloud Python SDK.
#
# Usage (from anywhere; paths are relative to the repository root):
#   scripts/sdk-e2e.sh                 # build ecsd (cargo build -p ecsd), start it, run tests/sdk
#   ECSD_BIN=path/to/ecsd scripts/sdk-e2e.sh
#   scripts/sdk-e2e.sh -k power -x     # extra arguments go to pytest
#
# Environment:
#   ECSD_BIN          ecsd binary to test (default: build it and use target/debug/ecsd)
#   ECSD_ACCESS_KEY / ECSD_SECRET_KEY / ECSD_PROJECT_ID   account (test defaults below)
#   ECSD_QUOTA_ACCESS_KEY / ECSD_QUOTA_SECRET_KEY / ECSD_QUOTA_PROJECT_ID
#                     a second account, written to an accounts file (--config), whose
#                     project has small quotas (test_quotas_groups.py); the local account
#                     keeps none
#   ECSD_READY_TIMEOUT  seconds to wait for ecsd to answer (default 30)
#   PYTHON            interpreter used to create the venv (default python3)
#
# Creates/reuses the venv .venv/sdk; exits with pytest's status.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A relative $ECSD_BIN is relative to the caller's directory, not the repository root.
if [[ -n "${ECSD_BIN:-}" && "$ECSD_BIN" != /* ]]; then
    ECSD_BIN="$PWD/$ECSD_BIN"
fi
cd "$ROOT"

VENV="$ROOT/.venv/sdk"
REQ="$ROOT/tests/sdk/requirements.txt"
PY="$VENV/bin/python"
READY_TIMEOUT="${ECSD_READY_TIMEOUT:-30}"

export ECSD_ACCESS_KEY="${ECSD_ACCESS_KEY:-ECSDTESTACCESSKEY001}"
export ECSD_SECRET_KEY="${ECSD_SECRET_KEY:-ecsdTestSecretKey0000000000000000000001}"
export ECSD_PROJECT_ID="${ECSD_PROJECT_ID:-0123456789abcdef0123456789abcdef}"
export ECSD_QUOTA_ACCESS_KEY="${ECSD_QUOTA_ACCESS_KEY:-ECSDQUOTAACCESSKEY01}"
export ECSD_QUOTA_SECRET_KEY="${ECSD_QUOTA_SECRET_KEY:-ecsdQuotaSecretKey000000000000000000001}"
export ECSD_QUOTA_PROJECT_ID="${ECSD_QUOTA_PROJECT_ID:-9a0000000000000000000000000000a9}"
export NO_PROXY="127.0.0.1,localhost,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

log() { printf 'sdk-e2e: %s\n' "$*" >&2; }

# --- 1. the Python venv with the pinned SDK --------------------------------
if [[ ! -x "$PY" ]] || ! "$PY" -c 'import sys' 2>/dev/null; then
    log "creating venv $VENV"
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
want_hash="$( { cat "$REQ"; "$PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$want_hash" ]]; then
    log "installing $(basename "$REQ") into $VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$REQ"
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
DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ecsd-sdk-e2e.XXXXXX")"
ECSD_PID=""
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

PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
export ECSD_ENDPOINT="http://127.0.0.1:$PORT"
ECSD_LOG="$DATA_DIR/ecsd.log"

# The quota account: 2 servers, 4 vCPUs, 1 ECS group of at most 1 member.
cat >"$DATA_DIR/accounts.toml" <<TOML
[[accounts]]
access_key = "$ECSD_QUOTA_ACCESS_KEY"
secret_key = "$ECSD_QUOTA_SECRET_KEY"
domain = "ecsd-quota"

[[accounts.projects]]
id = "$ECSD_QUOTA_PROJECT_ID"
name = "eu-de_quota"
region = "eu-de"

[accounts.projects.quotas]
instances = 2
cores = 4
server_groups = 1
server_group_members = 1
TOML

log "starting $ECSD_BIN on 127.0.0.1:$PORT (data in $DATA_DIR)"
"$ECSD_BIN" serve --listen "127.0.0.1:$PORT" --database "sqlite://$DATA_DIR/ecsd.db" --latency fast \
    --config "$DATA_DIR/accounts.toml" \
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
"$PY" - "$ECSD_ENDPOINT/v1/$ECSD_PROJECT_ID/cloudservers/flavors" "$ECSD_PID" "$READY_TIMEOUT" <<'EOF' || ready_rc=$?
import os, sys, time, urllib.error, urllib.request
url, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline = time.monotonic() + timeout
last = "no answer"
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        print("sdk-e2e: ecsd (pid %d) exited before becoming ready" % pid, file=sys.stderr)
        sys.exit(3)
    try:
        with opener.open(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
            last = "HTTP %d" % r.status
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            sys.exit(0)
        last = "HTTP %d" % e.code
    except Exception as e:
        last = repr(e)
    time.sleep(0.1)
print("sdk-e2e: ecsd not ready after %ss (last: %s)" % (timeout, last), file=sys.stderr)
sys.exit(4)
EOF
if [[ $ready_rc -ne 0 ]]; then
    show_log
    exit 1
fi
log "ecsd is ready (pid $ECSD_PID)"

# --- 4. the tests ------------------------------------------------------------
rc=0
"$PY" -m pytest -q -p no:cacheprovider --rootdir "$ROOT/tests/sdk" "$ROOT/tests/sdk" "$@" || rc=$?
if [[ $rc -ne 0 ]]; then
    show_log 60
fi
exit "$rc"
