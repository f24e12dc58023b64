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

E2E_NAME=node-e2e
# shellcheck source=scripts/lib/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/e2e.sh"

NODE="${NODE:-node}"
NPM="${NPM:-npm}"
NODE_DIR="$ROOT/tests/node"

export ECSD_ACCESS_KEY="${ECSD_ACCESS_KEY:-ECSDLOCALACCESSKEY01}"
export ECSD_SECRET_KEY="${ECSD_SECRET_KEY:-ecsdLocalSecretKey00000000000000000000001}"
export ECSD_PROJECT_ID="${ECSD_PROJECT_ID:-0123456789abcdef0123456789abcdef}"

# --- 1. node and the pinned SDK ----------------------------------------------
e2e_npm_ci "$NODE_DIR"

# --- 2. the ecsd binary ----------------------------------------------------
e2e_binary

# --- 3. start ecsd on a free port with a fresh data dir --------------------
# A second account whose key may make one request per second, for the gateway's throttling
# answer (429 APIGW.0308) as the SDK sees it.
export ECSD_THROTTLED_ACCESS_KEY="NODETHROTTLEDKEY0001"
export ECSD_THROTTLED_SECRET_KEY="node-throttled-secret-key-00000000000001"
export ECSD_THROTTLED_PROJECT_ID="0123456789abcdef0123456789abcd01"
cat > "$DATA_DIR/accounts.toml" <<TOML
[[accounts]]
access_key = "$ECSD_THROTTLED_ACCESS_KEY"
secret_key = "$ECSD_THROTTLED_SECRET_KEY"
domain = "node-throttled"
rate_limit = 1

[[accounts.projects]]
id = "$ECSD_THROTTLED_PROJECT_ID"
name = "eu-de_throttled"
region = "eu-de"
TOML
e2e_start --config "$DATA_DIR/accounts.toml"

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
    e2e_show_log 60
fi
exit "$rc"
