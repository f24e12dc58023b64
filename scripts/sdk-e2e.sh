#!/usr/bin/env bash
# End-to-end tests of ecsd driven by the official Huawei Cloud Python SDK.
#
# Usage (from anywhere; paths are relative to the repository root):
#   scripts/sdk-e2e.sh                 # build ecsd (cargo build -p ecsd), start it, run tests/sdk
#   ECSD_BIN=path/to/ecsd scripts/sdk-e2e.sh
#   scripts/sdk-e2e.sh -k power -x     # extra arguments go to pytest
#
# Environment:
#   ECSD_BIN          ecsd binary to test (default: build it and use target/debug/ecsd);
#                     exported to the tests, which may start an ecsd of their own
#   ECSD_ACCESS_KEY / ECSD_SECRET_KEY / ECSD_PROJECT_ID   account (test defaults below)
#   ECSD_QUOTA_ACCESS_KEY / ECSD_QUOTA_SECRET_KEY / ECSD_QUOTA_PROJECT_ID
#                     a second account, written to an accounts file (--config), whose
#                     project has small quotas (test_quotas_groups.py); the local account
#                     keeps none
#   ECSD_HUAWEI_ACCESS_KEY / ECSD_HUAWEI_SECRET_KEY / ECSD_HUAWEI_PROJECT_ID
#                     a third account in the same file, whose project is in Huawei Cloud's
#                     cn-north-4 (test_regions.py); the local project is in eu-de
#   ECSD_READY_TIMEOUT  seconds to wait for ecsd to answer (default 30)
#   PYTHON            interpreter used to create the venv (default python3)
#
# Creates/reuses the venv .venv/sdk; exits with pytest's status.
set -euo pipefail

E2E_NAME=sdk-e2e
# shellcheck source=scripts/lib/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/e2e.sh"

VENV="$ROOT/.venv/sdk"
PY="$VENV/bin/python"

export ECSD_ACCESS_KEY="${ECSD_ACCESS_KEY:-ECSDTESTACCESSKEY001}"
export ECSD_SECRET_KEY="${ECSD_SECRET_KEY:-ecsdTestSecretKey0000000000000000000001}"
export ECSD_PROJECT_ID="${ECSD_PROJECT_ID:-0123456789abcdef0123456789abcdef}"
# The quota account (a second account with a small quota; tests/sdk/test_quotas_groups.py).
export ECSD_QUOTA_ACCESS_KEY="${ECSD_QUOTA_ACCESS_KEY:-ECSDQUOTAACCESSKEY01}"
export ECSD_QUOTA_SECRET_KEY="${ECSD_QUOTA_SECRET_KEY:-ecsdQuotaSecretKey000000000000000000001}"
export ECSD_QUOTA_PROJECT_ID="${ECSD_QUOTA_PROJECT_ID:-9a0000000000000000000000000000a9}"
# The Huawei Cloud account: one project in cn-north-4 (tests/sdk/test_regions.py).
export ECSD_HUAWEI_ACCESS_KEY="${ECSD_HUAWEI_ACCESS_KEY:-ECSDHUAWEIACCESSKEY1}"
export ECSD_HUAWEI_SECRET_KEY="${ECSD_HUAWEI_SECRET_KEY:-ecsdHuaweiSecretKey00000000000000000001}"
export ECSD_HUAWEI_PROJECT_ID="${ECSD_HUAWEI_PROJECT_ID:-c4000000000000000000000000000c4a}"

# --- 1. the Python venv with the pinned SDK --------------------------------
e2e_venv "$VENV" "$ROOT/tests/sdk/requirements.txt"

# --- 2. the ecsd binary ----------------------------------------------------
e2e_binary
# Exported: tests/sdk/test_clock_state.py starts an ecsd of its own (--clock virtual).
export ECSD_BIN

# --- 3. start ecsd on a free port with a fresh data dir --------------------
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

[[accounts]]
access_key = "$ECSD_HUAWEI_ACCESS_KEY"
secret_key = "$ECSD_HUAWEI_SECRET_KEY"
domain = "ecsd-huawei"

[[accounts.projects]]
id = "$ECSD_HUAWEI_PROJECT_ID"
name = "cn-north-4"
region = "cn-north-4"
TOML
e2e_start --config "$DATA_DIR/accounts.toml"

# --- 4. the tests ------------------------------------------------------------
rc=0
"$PY" -m pytest -q -p no:cacheprovider --rootdir "$ROOT/tests/sdk" "$ROOT/tests/sdk" "$@" || rc=$?
if [[ $rc -ne 0 ]]; then
    e2e_show_log 60
fi
exit "$rc"
