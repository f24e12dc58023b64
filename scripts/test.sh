#!/usr/bin/env bash
# Runs every test of ecsd: the Rust suites (unit, store conformance, engine on a manual clock,
# HTTP in-process, the binary end to end with kill -9 recovery), then the end-to-end suite that
# drives the binary with the official Huawei Cloud Python SDK (installed into .venv/sdk by
# scripts/sdk-e2e.sh itself). Works on a fresh machine with Rust and Python 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> Rust tests"
cargo test --workspace --locked

echo "==> Python SDK end-to-end tests"
cargo build --locked -p ecsd
ECSD_BIN="$PWD/target/debug/ecsd" scripts/sdk-e2e.sh
