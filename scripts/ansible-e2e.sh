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
#   ECSD_HUAWEI_USER / ECSD_HUAWEI_PASSWORD
#                       the user of a second account (domain ecsd-huawei, project cn-north-4 in
#                       Huawei Cloud's region cn-north-4), written to an accounts file (--config)
#                       for the playbook's regions play (default hw / ecsdHuaweiPassword01)
#   ECSD_READY_TIMEOUT  seconds to wait for ecsd to answer (default 30)
#   ECSD_RUST_LOG       RUST_LOG for ecsd (default info: one line per request with its route,
#                       status, error code and caller, printed on failure; `debug` for everything)
#   PYTHON              interpreter used to create the venv (default python3; Python 3.11)
#
# Creates/reuses the venv .venv/ansible (pip install -r tests/ansible/requirements.txt only when
# that file or the Python version changed). ecsd runs on a free 127.0.0.1 port with a temporary
# database and --latency fast, and is stopped by its PID at exit. Exits with ansible-playbook's
# status (non-zero on any failed assertion) and prints ecsd's log when something failed.
set -euo pipefail

E2E_NAME=ansible-e2e
# shellcheck source=scripts/lib/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/e2e.sh"

VENV="$ROOT/.venv/ansible"
ANSIBLE_DIR="$ROOT/tests/ansible"
PY="$VENV/bin/python"

# ecsd reads these variables too, so it serves exactly the account the playbook uses.
export ECSD_USER="${ECSD_USER:-ecsd}"
export ECSD_PASSWORD="${ECSD_PASSWORD:-ecsdLocalPassword01}"
export ECSD_DOMAIN="${ECSD_DOMAIN:-ecsd}"
export ECSD_PROJECT_NAME="${ECSD_PROJECT_NAME:-eu-de}"
export ECSD_REGION="${ECSD_REGION:-eu-de}"
export ECSD_PROJECT_ID="${ECSD_PROJECT_ID:-0123456789abcdef0123456789abcdef}"
export ECSD_HUAWEI_USER="${ECSD_HUAWEI_USER:-hw}"
export ECSD_HUAWEI_PASSWORD="${ECSD_HUAWEI_PASSWORD:-ecsdHuaweiPassword01}"

# --- 1. the Python venv with the pinned ansible and keystoneauth1 ----------
e2e_venv "$VENV" "$ANSIBLE_DIR/requirements.txt"

# --- 2. the ecsd binary ----------------------------------------------------
e2e_binary

# --- 3. start ecsd on a free port with a fresh data dir --------------------
# The Huawei Cloud account of the regions play: a project in cn-north-4.
cat >"$DATA_DIR/accounts.toml" <<TOML
[[accounts]]
access_key = "ECSDHUAWEIACCESSKEY1"
secret_key = "ecsdHuaweiSecretKey00000000000000000001"
domain = "ecsd-huawei"

[[accounts.users]]
name = "$ECSD_HUAWEI_USER"
password = "$ECSD_HUAWEI_PASSWORD"

[[accounts.projects]]
id = "c4000000000000000000000000000c4a"
name = "cn-north-4"
region = "cn-north-4"
TOML
RUST_LOG="${ECSD_RUST_LOG:-info}" e2e_start --auth verify --config "$DATA_DIR/accounts.toml"
ENDPOINT="$ECSD_ENDPOINT"

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
               "ecsd_region": env["ECSD_REGION"], "ecsd_project_id": env["ECSD_PROJECT_ID"],
               "ecsd_huawei_user": env["ECSD_HUAWEI_USER"],
               "ecsd_huawei_password": env["ECSD_HUAWEI_PASSWORD"]}, f)
EOF

log "running tests/ansible/playbook.yml against $ENDPOINT/v3"
rc=0
start=$SECONDS
"$VENV/bin/ansible-playbook" -i "$ANSIBLE_DIR/inventory.ini" -e "@$EXTRA_VARS" \
    "$ANSIBLE_DIR/playbook.yml" "$@" || rc=$?
log "ansible-playbook exited with $rc after $((SECONDS - start)) s"
if [[ $rc -ne 0 ]]; then
    e2e_show_log 200
fi
exit "$rc"
