#!/usr/bin/env bash
# Mutation testing (issue 15): runs cargo-mutants over the rules that matter most — the engine,
# the store and the identity code of the api (crates/api/src/identity/) — and prints, per file,
# how many mutants the tests caught, missed, timed out on, or could not build.
#
# Too slow for CI or the default test command: every mutant is an incremental build plus a test
# run (about a minute each on a shared 2-core machine), and these paths hold ~1,500 mutants. Run
# it file by file, most important first; docs/mutants.md lists the results and, for each mutant
# that survives, the test that now kills it or why it is equivalent.
#
# It never mutates your checkout: the tracked and untracked (not ignored) files are copied to a
# scratch tree (ECSD_MUTANTS_DIR, default $TMPDIR/ecsd-mutants, reused between runs so builds stay
# incremental; its target/ is seeded once from this checkout's), and cargo-mutants runs there
# --in-place. Results go to $ECSD_MUTANTS_OUT (default target/mutants/<file with / as ->).
#
# Usage:
#   scripts/mutants.sh                     # the default list below, one file after another
#   scripts/mutants.sh FILE...             # these files (paths from the repository root)
#   scripts/mutants.sh --list              # the mutants of the default list, not run
# Environment:
#   ECSD_MUTANTS_TIMEOUT   seconds a mutant's tests may run before it counts as a timeout
#                          (default 300; a mutant that makes a loop spin is killed then)
#   ECSD_MUTANTS_IT        run the integration tests (crates/ecsd/tests/it) this filter selects
#                          instead of the mutated crate's unit tests, e.g. "security::" (the it
#                          binary costs about a minute of build and link per mutant)
#   ECSD_MUTANTS_ARGS      more arguments for cargo-mutants (e.g. "--re verify")
# Needs: cargo install cargo-mutants (v27).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

DEFAULT_FILES=(
  crates/api/src/identity/signature.rs
  crates/api/src/identity/tokens.rs
  crates/api/src/identity/auth.rs
  crates/engine/src/schedule.rs
  crates/engine/src/quota.rs
  crates/engine/src/compute.rs
  crates/engine/src/job.rs
  crates/engine/src/engine.rs
  crates/engine/src/server_jobs.rs
  crates/store/src/sqlite_tasks.rs
  crates/store/src/sqlite_groups.rs
  crates/store/src/sqlite.rs
  crates/api/src/identity/rate_limit.rs
  crates/api/src/identity/login_limits.rs
  crates/api/src/identity/accounts.rs
)

if ! cargo mutants --version >/dev/null 2>&1; then
  echo "cargo-mutants is not installed: cargo install cargo-mutants" >&2
  exit 2
fi

list=0
files=()
for arg in "$@"; do
  case "$arg" in
    --list) list=1 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) files+=("$arg") ;;
  esac
done
[ ${#files[@]} -gt 0 ] || files=("${DEFAULT_FILES[@]}")

scratch="${ECSD_MUTANTS_DIR:-${TMPDIR:-/tmp}/ecsd-mutants}"
out_root="${ECSD_MUTANTS_OUT:-$root/target/mutants}"
timeout="${ECSD_MUTANTS_TIMEOUT:-300}"
mkdir -p "$scratch" "$out_root"

# The scratch tree: this checkout's files as they are now (edits included), and a target/
# seeded once so the first mutant is an incremental build, not a cold one.
# `tar -m` stamps the copies with the current time: with the checkout's own mtimes, a file
# edited before the scratch tree's last build (a mutant's) looked older than that build, and
# cargo ran the last mutant's binary as the baseline.
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xmf - -C "$scratch"
if [ ! -d "$scratch/target" ] && [ -d "$root/target" ]; then
  echo "==> seeding $scratch/target from target/ (once)"
  cp -a "$root/target" "$scratch/target"
fi

# Each file is tested by its own crate's unit tests (cargo-mutants' default package, `--lib`:
# doctests would add a build per mutant and test nothing these rules need); ECSD_MUTANTS_IT
# replaces them with the integration tests it selects (a second pass over what was missed).
test_args=(--cargo-test-arg=--lib)
if [ -n "${ECSD_MUTANTS_IT:-}" ]; then
  test_args=(--test-package ecsd --cargo-test-arg=--test=it --cargo-test-arg="${ECSD_MUTANTS_IT}")
fi
# shellcheck disable=SC2206 # word splitting of the extra arguments is wanted
extra=(${ECSD_MUTANTS_ARGS:-})

summary=()
for file in "${files[@]}"; do
  if [ ! -f "$scratch/$file" ]; then
    echo "no such file: $file" >&2
    exit 2
  fi
  if [ "$list" = 1 ]; then
    (cd "$scratch" && cargo mutants --list --file "$file" "${extra[@]}")
    continue
  fi
  out="$out_root/${file//\//-}"
  rm -rf "$out"
  mkdir -p "$out"
  echo "==> $file"
  start=$(date +%s)
  # cargo-mutants exits 2 when a mutant is missed and 3 on a timeout (the counts say it); 1 is a
  # usage error and 4 a baseline whose tests fail, which no count would show.
  rc=0
  (cd "$scratch" && cargo mutants --in-place --file "$file" --no-shuffle \
    --timeout "$timeout" --build-timeout 900 --output "$out" \
    "${test_args[@]}" "${extra[@]}") || rc=$?
  # Restore the scratch copy of the file in case cargo-mutants was interrupted mid-mutant.
  cp "$root/$file" "$scratch/$file"
  case "$rc" in
    0 | 2 | 3) ;;
    *) echo "cargo-mutants failed (exit $rc) on $file; see $out/mutants.out/debug.log" >&2; exit "$rc" ;;
  esac
  seconds=$(( $(date +%s) - start ))
  dir="$out/mutants.out"
  count() { if [ -f "$dir/$1.txt" ]; then grep -c . "$dir/$1.txt" || true; else echo 0; fi; }
  caught=$(count caught); missed=$(count missed); timeouts=$(count timeout); unviable=$(count unviable)
  viable=$((caught + missed + timeouts))
  percent=n/a
  [ "$viable" -gt 0 ] && percent="$(( (caught + timeouts) * 100 / viable ))%"
  line="$file: caught $caught, missed $missed, timeout $timeouts, unviable $unviable; caught of viable (timeouts count as caught) $percent; ${seconds}s"
  echo "$line"
  [ "$missed" -gt 0 ] && sed 's/^/    missed: /' "$dir/missed.txt"
  summary+=("$line")
done

if [ "$list" = 0 ]; then
  echo
  echo "==> summary (results in $out_root)"
  printf '%s\n' "${summary[@]}"
fi
