#!/usr/bin/env bash
# Runs every test of ecsd: the Rust suites (unit, store conformance, engine on a manual clock,
# HTTP in-process, security, the binary end to end with kill -9 recovery), then the end-to-end
# suites that drive the binary with real clients: the official Huawei Cloud Python SDK
# (installed into .venv/sdk by scripts/sdk-e2e.sh), the Node.js SDK (npm ci in tests/node by
# scripts/node-e2e.sh), Ansible's hwc_ecs_instance (.venv/ansible, scripts/ansible-e2e.sh), and
# the OpenStack CLI with openstacksdk on the native Nova API (.venv/openstack,
# scripts/openstack-e2e.sh), and the dashboard in Debian's Chromium (playwright-core from
# tests/ui, scripts/ui-e2e.sh; installs chromium with apt-get when missing).
# Works on a fresh machine with Rust, Python 3.11 and Node.js 20, on a clone with nothing beside
# it (the reference's facts are in tests/reference/).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> Rust tests"
cargo test --workspace --locked

echo "==> Python SDK end-to-end tests"
cargo build --locked -p ecsd
# The binary cargo just built, wherever CARGO_TARGET_DIR puts it.
ECSD_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/ecsd"
case "$ECSD_BIN" in /*) ;; *) ECSD_BIN="$PWD/$ECSD_BIN" ;; esac
export ECSD_BIN
scripts/sdk-e2e.sh

echo "==> Node.js SDK end-to-end tests"
scripts/node-e2e.sh

echo "==> Ansible end-to-end tests"
scripts/ansible-e2e.sh

echo "==> OpenStack CLI and openstacksdk end-to-end tests"
scripts/openstack-e2e.sh

echo "==> Dashboard in a real browser (Chromium)"
scripts/ui-e2e.sh
