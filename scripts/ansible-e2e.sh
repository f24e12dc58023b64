#!/usr/bin/env bash
# End-to-end test of ecsd driven by Ansible's community.general.hwc_ecs_instance module
# (ansible 12.3.0 = community.general 11.4.2, with keystoneauth1 5.18.1; all pinned in
# tests/ansible/requirements.txt). The module logs in with a Keystone v3 password token and
# calls the ECS API with X-Auth-Token; tests/ansible/playbook.yml creates a server, re-runs the
# task (not changed), reads it in check mode, deletes it twice and tries a wrong password.
#
# Usage (from anywhere; paths are relative to the repository root):
#   scripts/ansible-e2e.sh                 # build ecsd (cargo build -p ecsd), start it, run the playbook
#   ECSD_BIN=path/to/ecsd scripts/ansible-e2e.sh
#   scripts/ansible-e2e.sh -vvv            # extra arguments go to ansible-playbook
#
# Environment:
#   ECSD_BIN            ecsd binary to test (default: build it and use target/debug/ecsd)
#   ECSD_USER / ECSD_PASSWORD / ECSD_DOMAIN / ECSD_PROJECT_NAME / ECSD_REGION / ECSD_PROJECT_ID
#                       the local account ecsd is started with and the playbook logs in as
#                       (default: the README's local account: ecsd / ecsdLocalPassword01 /
#                       ecsd / eu-de / eu-de / 0123456789abcdef0123456789abcdef)
#   ECSD_READY_TIMEOUT  seconds to wait for ecsd to answer (default 30)
#   ECSD_RUST_LOG       RUST_LOG for ecsd (default info,tower_http=debug: one line per request and
#                       answer status, printed on failure; `debug` for everything)
#   PYTHON              interpreter used to create the venv (default python3; Python 3.11)
#
# Creates/reuses the venv .venv/ansible (pip install -r tests/ansible/requirements.txt only when
# that file or the Python version changed). ecsd runs on a free 127.0.0.1 port with a temporary
# database and --latency fast, and is stopped by its PID at exit. Exits with ansible-playbook's
# status (non-zero on any failed assertion) and prints ecsd's log when something failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A relative $ECSD_BIN is relative to the caller's directory, not the repository root.
if [[ -n "${ECSD_BIN:-}" && "$ECSD_BIN" != /* ]]; then
    ECSD_BIN="$PWD/$ECSD_BIN"
fi
cd "$ROOT"

VENV="$ROOT/.venv/ansible"
ANSIBLE_DIR="$ROOT/tests/ansible"
REQ="$ANSIBLE_DIR/requirements.txt"
PY="$VENV/bin/python"
READY_TIMEOUT="${ECSD_READY_TIMEOUT:-30}"

# ecsd reads these variables too, so it serves exactly the account the playbook uses.
export ECSD_USER="${ECSD_USER:-ecsd}"
export ECSD_PASSWORD="${ECSD_PASSWORD:-ecsdLocalPassword01}"
export ECSD_DOMAIN="${ECSD_DOMAIN:-ecsd}"
export ECSD_PROJECT_NAME="${ECSD_PROJECT_NAME:-eu-de}"
export ECSD_REGION="${ECSD_REGION:-eu-de}"
export ECSD_PROJECT_ID="${ECSD_PROJECT_ID:-0123456789abcdef0123456789abcdef}"
export NO_PROXY="127.0.0.1,localhost,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

log() { printf 'ansible-e2e: %s\n' "$*" >&2; }

# --- 1. the Python venv with the pinned ansible and keystoneauth1 ----------
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
DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ecsd-ansible-e2e.XXXXXX")"
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

PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
ENDPOINT="http://127.0.0.1:$PORT"
ECSD_LOG="$DATA_DIR/ecsd.log"

log "starting $ECSD_BIN on 127.0.0.1:$PORT (data in $DATA_DIR)"
RUST_LOG="${ECSD_RUST_LOG:-info,tower_http=debug}" "$ECSD_BIN" serve --listen "127.0.0.1:$PORT" \
    --database "sqlite://$DATA_DIR/ecsd.db" --latency fast --auth verify \
    </dev/null >"$DATA_DIR/ecsd.stdout" 2>"$ECSD_LOG" &
ECSD_PID=$!

show_log() {
    log "---- ecsd stderr ($ECSD_LOG) ----"
    tail -n "${1:-200}" "$ECSD_LOG" >&2 || true
    log "---- end of ecsd stderr ----"
}

# Ready when the unsigned flavor list answers (401 while auth is verified, 200 otherwise).
ready_rc=0
"$PY" - "$ENDPOINT/v1/$ECSD_PROJECT_ID/cloudservers/flavors" "$ECSD_PID" "$READY_TIMEOUT" <<'EOF' || ready_rc=$?
import os, sys, time, urllib.error, urllib.request
url, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline = time.monotonic() + timeout
last = "no answer"
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        print("ansible-e2e: ecsd (pid %d) exited before becoming ready" % pid, file=sys.stderr)
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
print("ansible-e2e: ecsd not ready after %ss (last: %s)" % (timeout, last), file=sys.stderr)
sys.exit(4)
EOF
if [[ $ready_rc -ne 0 ]]; then
    show_log
    exit 1
fi
log "ecsd is ready (pid $ECSD_PID)"

# --- 4. the playbook ---------------------------------------------------------
# Keep ansible's own files in the temporary folder, and use only the collections bundled with
# the pinned ansible package (not ones the user installed in ~/.ansible).
export ANSIBLE_CONFIG="$ANSIBLE_DIR/ansible.cfg"
export ANSIBLE_HOME="$DATA_DIR/ansible-home"
export ANSIBLE_LOCAL_TEMP="$DATA_DIR/ansible-tmp"
export ANSIBLE_COLLECTIONS_PATH="$DATA_DIR/ansible-collections"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"
EXTRA_VARS="$DATA_DIR/extra-vars.json"
"$PY" - "$EXTRA_VARS" "$ENDPOINT/v3" <<'EOF'
import json, os, sys
path, identity = sys.argv[1], sys.argv[2]
env = os.environ
with open(path, "w") as f:
    json.dump({"ecsd_identity_endpoint": identity,
               "ecsd_user": env["ECSD_USER"], "ecsd_password": env["ECSD_PASSWORD"],
               "ecsd_domain": env["ECSD_DOMAIN"], "ecsd_project": env["ECSD_PROJECT_NAME"],
               "ecsd_region": env["ECSD_REGION"], "ecsd_project_id": env["ECSD_PROJECT_ID"]}, f)
EOF

log "running tests/ansible/playbook.yml against $ENDPOINT/v3"
rc=0
start=$SECONDS
"$VENV/bin/ansible-playbook" -i "$ANSIBLE_DIR/inventory.ini" -e "@$EXTRA_VARS" \
    "$ANSIBLE_DIR/playbook.yml" "$@" || rc=$?
log "ansible-playbook exited with $rc after $((SECONDS - start)) s"
if [[ $rc -ne 0 ]]; then
    show_log 200
fi
exit "$rc"
