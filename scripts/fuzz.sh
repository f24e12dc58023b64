#!/usr/bin/env bash
# Fuzzes the SDK-HMAC-SHA256 `Authorization` parser, canonicalisation and verifier
# (fuzz/fuzz_targets/authorization.rs) for a bounded time.
#
# Usage: scripts/fuzz.sh [SECONDS]     (default 60)
#
# Needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz, which this
# script installs with `cargo install cargo-fuzz --locked` when it is missing. The corpus is
# kept in fuzz/corpus/ (git-ignored; fuzz/seeds/ holds a signed SDK request to start from) so later runs start where earlier ones stopped; a crash
# leaves its input in fuzz/artifacts/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN="${1:-60}"
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: the nightly toolchain is missing: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
echo "==> fuzzing the Authorization parser and verifier for ${SECONDS_TO_RUN}s"
mkdir -p fuzz/corpus/authorization
cargo +nightly fuzz run authorization fuzz/corpus/authorization fuzz/seeds/authorization -- -max_total_time="$SECONDS_TO_RUN" -max_len=4096
