#!/usr/bin/env bash
# Refreshes the built-in flavor catalogues (crates/engine/data/flavors/) from the sourced
# tables of the reference folder, which are copied as they are (facts only: names, vCPUs, RAM,
# extra specs; the provenance of each flavor is in provenance.json).
#
# Usage: scripts/update-flavors.sh [FOLDER]
#   FOLDER  the reference's flavor tables (default: $ECSD_FLAVORS_REFERENCE, else
#           ../shared/reference/flavors beside the repository)
#
# Then run `cargo test -p engine regions` (it checks the sizes and names the regions promise,
# and, with the folder present, that the copies equal it) and update README "Regions" if the
# sizes changed. regions.json (zones, which files make each region) is edited by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCE="${1:-${ECSD_FLAVORS_REFERENCE:-$ROOT/../shared/reference/flavors}}"
TARGET="$ROOT/crates/engine/data/flavors"
for file in otc-eu-de.json otc-eu-nl.json otc-retired.json huaweicloud.json provenance.json; do
    if [[ ! -f "$SOURCE/$file" ]]; then
        echo "update-flavors: $SOURCE/$file not found" >&2
        exit 2
    fi
    cp "$SOURCE/$file" "$TARGET/$file"
    chmod 644 "$TARGET/$file"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%-18s %s" % (sys.argv[2], len(d["flavors"]) if "flavors" in d else "-"))' "$TARGET/$file" "$file"
done
