#!/usr/bin/env bash
# The dashboard (/_ecsd/ui) tested in a real browser: Debian's Chromium, driven by
# playwright-core (pinned in tests/ui/package-lock.json) through the DevTools protocol.
# Logs in with the admin token, creates jobs through the API and checks in the open page that
# they appear and reach their end live (server-sent events, no reload), that a job's page draws
# its sub-jobs, and the project's servers; saves screenshots and prints their folder.
#
# Usage (from anywhere; paths are relative to the repository root):
#   scripts/ui-e2e.sh                  # build ecsd, install what is missing, run tests/ui
#   scripts/ui-e2e.sh --update-docs    # the same, then copy the job page's screenshot to
#                                      # docs/dashboard.png (README "Watching ecsd")
#
# Environment:
#   ECSD_BIN             ecsd binary to test (default: build it and use target/debug/ecsd)
#   ECSD_UI_SCREENSHOTS  where the screenshots go (default target/ui-e2e/screenshots)
#   CHROMIUM             the browser (default /usr/bin/chromium; installed with apt-get when
#                        missing, which needs root)
#   ECSD_READY_TIMEOUT / ECSD_JOB_TIMEOUT   seconds (defaults 30 / 60)
#   NODE / NPM           node and npm to use (default: node, npm); Node >= 20
set -euo pipefail

E2E_NAME=ui-e2e
# shellcheck source=scripts/lib/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/e2e.sh"

update_docs=0
if [[ "${1:-}" == "--update-docs" ]]; then
    update_docs=1
    shift
fi

NODE="${NODE:-node}"
NPM="${NPM:-npm}"
UI_DIR="$ROOT/tests/ui"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export ECSD_UI_SCREENSHOTS="${ECSD_UI_SCREENSHOTS:-$ROOT/target/ui-e2e/screenshots}"
case "$ECSD_UI_SCREENSHOTS" in /*) ;; *) ECSD_UI_SCREENSHOTS="$ROOT/$ECSD_UI_SCREENSHOTS" ;; esac

# --- 1. Chromium --------------------------------------------------------------
if [[ ! -x "$CHROMIUM" ]]; then
    if [[ "$CHROMIUM" != /usr/bin/chromium ]]; then
        log "CHROMIUM=$CHROMIUM is not an executable"
        exit 2
    fi
    if [[ "$(id -u)" -ne 0 ]]; then
        log "chromium is missing; install it (apt-get install chromium) or run as root"
        exit 2
    fi
    log "installing Debian's chromium (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# --- 2. node and the pinned playwright-core -----------------------------------
e2e_npm_ci "$UI_DIR"

# --- 3. ecsd, with an admin token (the dashboard's login is part of the test) ---
e2e_binary
export ECSD_BIN
ECSD_ADMIN_TOKEN="ui-e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export ECSD_ADMIN_TOKEN
e2e_start

# --- 4. the browser test -------------------------------------------------------
rm -rf "$ECSD_UI_SCREENSHOTS"
rc=0
(cd "$UI_DIR" && "$NODE" --test --test-reporter=spec "$@" dashboard.test.js) || rc=$?
if [[ $rc -ne 0 ]]; then
    e2e_show_log 60
    exit "$rc"
fi
log "screenshots: $ECSD_UI_SCREENSHOTS"
ls -1 "$ECSD_UI_SCREENSHOTS" >&2
if (( update_docs )); then
    cp "$ECSD_UI_SCREENSHOTS/job.png" "$ROOT/docs/dashboard.png"
    log "docs/dashboard.png updated"
fi
