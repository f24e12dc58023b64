#!/usr/bin/env bash
# End-to-end tests of ecsd's native OpenStack API (Nova, with the Keystone, Glance and Neutron
# reads the clients need) driven by the unchanged `openstack` command line
# (python-openstackclient 10.5.0) and openstacksdk 4.22.0.
#
# Usage (from anywhere; paths are relative to the repository root):
#   scripts/openstack-e2e.sh                  # build ecsd (cargo build -p ecsd), start it, run
#   ECSD_BIN=path/to/ecsd scripts/openstack-e2e.sh
#
# Environment:
#   ECSD_BIN            ecsd binary to test (default: build it and use target/debug/ecsd)
#   ECSD_READY_TIMEOUT  seconds to wait for ecsd to answer (default 30)
#   PYTHON              interpreter used to create the venv (default python3)
#
# Creates/reuses the venv .venv/openstack (tests/openstack/requirements.txt); exits 0 when every
# check passes, 1 at the first failure (with ecsd's log).
set -euo pipefail

E2E_NAME=openstack-e2e
# shellcheck source=scripts/lib/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/e2e.sh"

VENV="$ROOT/.venv/openstack"
OS="$VENV/bin/openstack"
# The local account's documented defaults (README, "Accounts, keys and tokens").
PASSWORD=ecsdLocalPassword01
NETWORK=5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33
IMAGE_NAME=Standard_Ubuntu_22.04_latest

e2e_venv "$VENV" "$ROOT/tests/openstack/requirements.txt"
e2e_binary
e2e_start

cat >"$DATA_DIR/clouds.yaml" <<YAML
clouds:
  ecsd:
    auth:
      auth_url: $ECSD_ENDPOINT/v3
      username: ecsd
      password: $PASSWORD
      user_domain_name: ecsd
      project_name: eu-de
      project_domain_name: ecsd
    region_name: eu-de
    interface: public
    identity_api_version: 3
YAML
export OS_CLIENT_CONFIG_FILE="$DATA_DIR/clouds.yaml" OS_CLOUD=ecsd

fail() {
    log "FAILED: $*"
    e2e_show_log 80
    exit 1
}
# os ARGS...: the openstack command, bounded (its waits never time out by themselves).
os() { timeout 180 "$OS" "$@"; }
field() { "$VENV/bin/python" -c 'import json,sys; v=json.load(sys.stdin); print(v[sys.argv[1]])' "$1"; }
ecs() { timeout 120 "$ECSD_BIN" call --endpoint "$ECSD_ENDPOINT" "$@"; }

log "token issue"
token="$(os token issue -f json)"
[[ "$(field project_id <<<"$token")" == 0123456789abcdef0123456789abcdef ]] || fail "token: $token"

log "a wrong password"
if out="$(os --os-password wrong token issue 2>&1)"; then fail "a wrong password was accepted"; fi
grep -q "HTTP 401" <<<"$out" || fail "wrong password: $out"

log "flavor list, a flavor and a resize target of the same family"
flavors="$(os flavor list -f json)"
read -r FLAVOR TARGET < <("$VENV/bin/python" -c '
import json, sys
names = [f["Name"] for f in json.load(sys.stdin)]
family = lambda name: name.split(".")[0]
for first in names:
    others = [n for n in names if n != first and family(n) == family(first)]
    if others:
        print(first, others[0]); break
' <<<"$flavors")
[[ -n "${FLAVOR:-}" && -n "${TARGET:-}" ]] || fail "no two flavors of one family in: $flavors"
os flavor show "$FLAVOR" -f json >/dev/null || fail "flavor show $FLAVOR"

log "server create --wait ($FLAVOR, $IMAGE_NAME)"
created="$(os server create --flavor "$FLAVOR" --image "$IMAGE_NAME" --nic "net-id=$NETWORK" --wait -f json nova-e2e)"
ID="$(field id <<<"$created")"
[[ "$(field status <<<"$created")" == ACTIVE ]] || fail "create: $created"

log "server show, list"
[[ "$(os server show "$ID" -f value -c status)" == ACTIVE ]] || fail "show"
os server list -f value -c ID | grep -q "$ID" || fail "list does not show $ID"

log "the same server through the ECS API"
ecs GET "/v1/{project_id}/cloudservers/$ID" | grep -q '"status": *"ACTIVE"' || fail "ECS view"

log "stop, start"
os server stop "$ID"
for _ in $(seq 60); do [[ "$(os server show "$ID" -f value -c status)" == SHUTOFF ]] && break; sleep 1; done
[[ "$(os server show "$ID" -f value -c status)" == SHUTOFF ]] || fail "not SHUTOFF after stop"
os server start "$ID"
for _ in $(seq 60); do [[ "$(os server show "$ID" -f value -c status)" == ACTIVE ]] && break; sleep 1; done
[[ "$(os server show "$ID" -f value -c status)" == ACTIVE ]] || fail "not ACTIVE after start"

log "reboot --wait"
os server reboot --wait "$ID" | grep -q Complete || fail "reboot"
[[ "$(os server show "$ID" -f value -c status)" == ACTIVE ]] || fail "not ACTIVE after reboot"

log "resize --wait to $TARGET, then confirm"
os server resize --flavor "$TARGET" --wait "$ID" | grep -q Complete || fail "resize"
[[ "$(os server show "$ID" -f value -c status)" == VERIFY_RESIZE ]] || fail "not VERIFY_RESIZE"
os server resize confirm "$ID"
for _ in $(seq 60); do [[ "$(os server show "$ID" -f value -c status)" == ACTIVE ]] && break; sleep 1; done
shown="$(os server show "$ID" -f json)"
[[ "$(field status <<<"$shown")" == ACTIVE ]] || fail "not ACTIVE after confirm: $shown"
grep -q "\"original_name\": \"$TARGET\"" <<<"$shown" || fail "the flavor is not $TARGET: $shown"

log "delete --wait, then 404"
os server delete --wait "$ID"
if out="$(os server show "$ID" 2>&1)"; then fail "a deleted server is shown"; fi
grep -q "No Server found" <<<"$out" || fail "deleted server: $out"

log "a server created through ECS, seen and deleted through Nova"
ecs_created="$(ecs POST '/v1/{project_id}/cloudservers' --wait --data "{\"server\": {\"imageRef\": \"1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e\", \"flavorRef\": \"$FLAVOR\", \"name\": \"ecs-made\", \"vpcid\": \"3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11\", \"nics\": [{\"subnet_id\": \"$NETWORK\"}], \"root_volume\": {\"volumetype\": \"SSD\"}}}")"
# `ecsd call --wait` prints the first answer (one line) and then the finished job: its sub-job
# names the server.
ECS_ID="$("$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["entities"]["sub_jobs"][0]["entities"]["server_id"])' < <(tail -n +2 <<<"$ecs_created"))"
[[ "$(os server show "$ECS_ID" -f value -c status)" == ACTIVE ]] || fail "the ECS-made server through Nova"
os server delete --wait "$ECS_ID"
if ecs GET "/v1/{project_id}/cloudservers/$ECS_ID" >/dev/null 2>&1; then fail "ECS still shows $ECS_ID"; fi

log "a server created through Nova, seen and deleted through ECS"
NOVA_ID="$(os server create --flavor "$FLAVOR" --image "$IMAGE_NAME" --nic "net-id=$NETWORK" --wait -f value -c id nova-made)"
ecs GET "/v1/{project_id}/cloudservers/$NOVA_ID" | grep -q '"status": *"ACTIVE"' || fail "the Nova-made server through ECS"
ecs POST '/v1/{project_id}/cloudservers/delete' --wait --data "{\"servers\": [{\"id\": \"$NOVA_ID\"}]}" >/dev/null
if os server show "$NOVA_ID" >/dev/null 2>&1; then fail "Nova still shows $NOVA_ID"; fi

log "openstacksdk"
IMAGE_ID="$(os image show "$IMAGE_NAME" -f value -c id)"
"$VENV/bin/python" "$ROOT/tests/openstack/sdk_check.py" "$NETWORK" "$IMAGE_ID" || fail "openstacksdk"

log "all checks passed"
