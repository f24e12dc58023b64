#!/usr/bin/env bash
# ecsd benchmark runner. See bench/README.md for what each figure means.
#
#   bench/run.sh                 items 1-3: delivery, query, execution
#   bench/run.sh --rss           item 4 only: RSS with BENCH_RSS_JOBS stored jobs
#   bench/run.sh --all           items 1-4
#   bench/run.sh --only LIST     comma list of: delivery,query,exec,rss
#   bench/run.sh --reference-only  baselines only (ecsd is not built or run)
#   bench/run.sh --no-build      use the binaries already in target/release
#
# Servers run on CPU $BENCH_SERVER_CPU (0), the load generator on
# $BENCH_CLIENT_CPU (1). Every server gets a fresh directory and database and
# is stopped by its PID afterwards.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
LIB=$BENCH_DIR/lib
export BENCH_LIB=$LIB

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
QUERY_JOBS=${BENCH_QUERY_JOBS:-2000}
QUERY_SQLITE=${BENCH_QUERY_SQLITE:-1}
EXEC_SERVERS=${BENCH_EXEC_SERVERS:-10000}
EXEC_PER_JOB=${BENCH_EXEC_PER_JOB:-100}
RSS_JOBS=${BENCH_RSS_JOBS:-100000}
RSS_LATENCY=${BENCH_RSS_LATENCY:-instant}
AUTH_OFF_LINE=${BENCH_AUTH_OFF_LINE:-1}
DRAIN_S=${BENCH_DRAIN:-60}
# The local account's documented keys: lib/jobs.py signs with them, and
# `ecsd call --print-headers` signs the load generators' requests.
export BENCH_AK=ECSDLOCALACCESSKEY01
export BENCH_SK=ecsdLocalSecretKey00000000000000000000001
PORT_NEXT=${BENCH_PORT:-18780}
TMP_BASE=${BENCH_TMPDIR:-/var/tmp}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
READY_TIMEOUT=${BENCH_READY_TIMEOUT:-60}
KEEP=${BENCH_KEEP:-0}
export BENCH_PROJECT=${BENCH_PROJECT:-0123456789abcdef0123456789abcdef}
PROJECT=$BENCH_PROJECT

ECSD=$ROOT/target/release/ecsd
# The ecsd that signs (`ecsd call --print-headers`); BENCH_ECSD may name another
# binary to measure (an older build, to compare levers), which need not sign.
SIGNER=$ECSD
[ -n "${BENCH_ECSD:-}" ] && ECSD=$BENCH_ECSD
REF=$ROOT/target/release/bench-reference

ITEMS="delivery,query,exec"
WITH_ECSD=1
BUILD=1

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
        --rss) ITEMS="rss" ;;
        --all) ITEMS="delivery,query,exec,rss" ;;
        --only) ITEMS=${2:?--only needs a list}; shift ;;
        --reference-only) WITH_ECSD=0 ;;
        --no-build) BUILD=0 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
for item in ${ITEMS//,/ }; do
    case $item in delivery | query | exec | rss) ;; *) echo "unknown item: $item" >&2; exit 2 ;; esac
done
want() { [[ ",$ITEMS," == *",$1,"* ]]; }

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- tools, build

ensure_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v python3 >/dev/null || missing+=(python3)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]} (apt-get)"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
            die "could not install ${missing[*]}"
        fi
    fi
    [ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs; server and client will share a core"
}

build() {
    local pkgs=(-p bench-reference)
    [ "$WITH_ECSD" = 1 ] && pkgs+=(-p ecsd)
    log "cargo build --release ${pkgs[*]} (waits if another build holds the lock)"
    (cd "$ROOT" && cargo build --release "${pkgs[@]}") \
        || die "build failed (use --reference-only to measure the baselines alone)"
    if [ "$WITH_ECSD" = 1 ]; then
        "$ECSD" serve --help >/dev/null 2>&1 || die "'$ECSD serve --help' fails"
    fi
}

# -------------------------------------------------------------- process control

STARTED=()   # PIDs this script started and has not reaped yet
TMP_DIRS=()

forget() { local p keep=(); for p in "${STARTED[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; STARTED=("${keep[@]}"); }

cleanup() {
    local pid
    for pid in "${STARTED[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "$KEEP" != 1 ]; then
        for d in "${TMP_DIRS[@]}"; do rm -rf "$d"; done
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { log "NOTE: $*"; printf '%s\n' "$*" >>"$RUN_DIR/notes.txt"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

next_port() {
    while port_in_use "$PORT_NEXT"; do PORT_NEXT=$((PORT_NEXT + 1)); done
    PORT=$PORT_NEXT
    PORT_NEXT=$((PORT_NEXT + 1))
}

# start_server LABEL ecsd LATENCY [AUTH] | start_server LABEL ref MODE
# ecsd verifies every request's signature (AUTH verify, the default) unless
# AUTH is off. Sets SRV_PID, SRV_DIR, SRV_URL, SRV_LABEL. Returns 1 if it never
# got ready.
start_server() {
    local label=$1 kind=$2 arg=$3 auth=${4:-verify} ready_path ready_code code deadline
    next_port
    SRV_LABEL=$label
    SRV_DIR=$(mktemp -d -p "$TMP_BASE" "ecsd-bench-$label.XXXXXX")
    TMP_DIRS+=("$SRV_DIR")
    SRV_URL=http://127.0.0.1:$PORT
    if [ "$kind" = ecsd ]; then
        taskset -c "$SERVER_CPU" "$ECSD" serve --listen "127.0.0.1:$PORT" \
            --database "sqlite://$SRV_DIR/ecsd.db" --latency "$arg" --auth "$auth" \
            --rate-limit 0 --max-unfinished-jobs 0 >"$SRV_DIR/server.log" 2>&1 &
        # Unsigned, the probe is refused (401) once ecsd serves with verification on.
        ready_path=/v1/$PROJECT/cloudservers/flavors ready_code=200
        [ "$auth" = off ] || ready_code=401
    else
        taskset -c "$SERVER_CPU" "$REF" --mode "$arg" --listen "127.0.0.1:$PORT" \
            --database "$SRV_DIR/ref.db" >"$SRV_DIR/server.log" 2>&1 &
        # The reference only knows the two benchmarked routes: an unknown job
        # answers 400 Common.0011 once it is serving.
        ready_path=/v1/$PROJECT/jobs/readiness-probe ready_code=400
    fi
    SRV_PID=$!
    STARTED+=("$SRV_PID")
    deadline=$((SECONDS + READY_TIMEOUT))
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$SRV_URL$ready_path" || true)
        [ "$code" = "$ready_code" ] && break
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            note "$label: server exited during start-up: $(tail -c 600 "$SRV_DIR/server.log" | tr '\n' ' ')"
            wait "$SRV_PID" 2>/dev/null || true
            forget "$SRV_PID"
            return 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            note "$label: not ready after ${READY_TIMEOUT}s (last answer to $ready_path: HTTP $code)"
            stop_server
            return 1
        fi
        sleep 0.1
    done
    log "$label: pid $SRV_PID ready on $SRV_URL (dir $SRV_DIR)"
}

# Stop the current server by PID (SIGTERM, then SIGKILL after 10 s). Notes it
# if the server had already died.
stop_server() {
    local pid=$SRV_PID _
    if ! kill -0 "$pid" 2>/dev/null; then
        note "$SRV_LABEL: server (pid $pid) had exited before being stopped: $(tail -c 600 "$SRV_DIR/server.log" | tr '\n' ' ')"
    else
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            note "$SRV_LABEL: still running 10 s after SIGTERM; sent SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    forget "$pid"
}

server_alive() {
    kill -0 "$SRV_PID" 2>/dev/null && return 0
    note "$SRV_LABEL: server died during the measurement: $(tail -c 600 "$SRV_DIR/server.log" | tr '\n' ' ')"
    return 1
}

# Bytes the process caused to be written to storage (/proc/PID/io write_bytes).
write_bytes() { awk '$1 == "write_bytes:" { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0; }

# sign_post: signed headers for the create (lib/post.lua sends them), made by
# `ecsd call --print-headers` for the current server's URL. Valid 15 minutes.
sign_post() {
    export BENCH_POST_HEADERS=
    [ "$WITH_ECSD" = 1 ] || return 0
    BENCH_POST_HEADERS=$SRV_DIR/post.headers
    "$SIGNER" call POST "/v1/$PROJECT/cloudservers" --print-headers -d "@$LIB/create.json" \
        --endpoint "$SRV_URL" --access-key "$BENCH_AK" --secret-key "$BENCH_SK" \
        --project-id "$PROJECT" >"$BENCH_POST_HEADERS"
}

# sign_gets IDS_FILE OUT: signed headers for GET of each job in IDS_FILE.
sign_gets() {
    : >"$2"
    [ "$WITH_ECSD" = 1 ] || return 0
    sed "s|^|/v1/$PROJECT/jobs/|" "$1" >"$2.paths"
    "$SIGNER" call GET "@$2.paths" --print-headers --endpoint "$SRV_URL" \
        --access-key "$BENCH_AK" --secret-key "$BENCH_SK" --project-id "$PROJECT" >"$2"
}

rss_kib() { awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status"; }
db_bytes() { find "$SRV_DIR" -maxdepth 1 -name '*.db*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# ------------------------------------------------------------------ load tools

# CPU ticks: busy ticks of the server CPU, and ticks used by the server.
cpu_busy_ticks() { awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
server_ticks() { awk '{ print $14 + $15 }' "/proc/$SRV_PID/stat" 2>/dev/null || echo 0; }

# run_wrk OUT_JSON SECONDS SCRIPT [script args]: one wrk run on the client CPU.
# Adds "foreign_cpu_pct" to the summary: how much of the server's CPU was
# used by processes other than the server (anything above a few percent
# means the figure is disturbed).
run_wrk() {
    local out=$1 secs=$2 script=$3
    shift 3
    local wlog=${out%.json}.wrk.log c0 s0 c1 s1
    c0=$(cpu_busy_ticks) s0=$(server_ticks)
    if ! taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 10s \
        -s "$LIB/$script" "$SRV_URL" -- "$@" >"$wlog" 2>&1; then
        note "$SRV_LABEL: wrk failed: $(tail -c 400 "$wlog" | tr '\n' ' ')"
        return 1
    fi
    c1=$(cpu_busy_ticks) s1=$(server_ticks)
    sed -n 's/^BENCH_JSON //p' "$wlog" >"$out"
    [ -s "$out" ] || { note "$SRV_LABEL: no wrk summary in $wlog"; return 1; }
    python3 - "$out" "$c0" "$c1" "$s0" "$s1" <<'PY'
import json, sys
path, (b0, t0), (b1, t1), s0, s1 = sys.argv[1], *(map(int, a.split()) for a in sys.argv[2:4]), *map(int, sys.argv[4:6])
d = json.load(open(path))
total = t1 - t0
d["server_cpu_pct"] = round(100 * (s1 - s0) / total, 1) if total else None
d["foreign_cpu_pct"] = round(100 * max(0, (b1 - b0) - (s1 - s0)) / total, 1) if total else None
json.dump(d, open(path, "w"))
PY
}

# fill_jobs N IDS_FILE: create N jobs at $CONNS connections, ids into the
# file. wrk stops its thread at N (lib/fill.lua); we end wrk with SIGINT.
# Sets FILL_COUNT and FILL_SECONDS.
fill_jobs() {
    local n=$1 ids=$2 wpid count last=-1 still=0 t0 t1
    sign_post
    : >"$ids"
    t0=$(date +%s.%N)
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d3600s --timeout 30s \
        -s "$LIB/fill.lua" "$SRV_URL" -- "$n" "$ids" >"$ids.wrk.log" 2>&1 &
    wpid=$!
    STARTED+=("$wpid")
    while kill -0 "$wpid" 2>/dev/null; do
        count=$(wc -l <"$ids")
        [ "$count" -ge "$n" ] && break
        if [ "$count" = "$last" ]; then
            still=$((still + 1))
            if [ $still -ge 100 ]; then
                note "$SRV_LABEL: job creation stalled at $count/$n for 10 s: $(tail -c 600 "$ids.wrk.log" | tr '\n' ' ')"
                break
            fi
        else
            still=0 last=$count
        fi
        sleep 0.1
    done
    t1=$(date +%s.%N)
    kill -INT "$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
    forget "$wpid"
    FILL_COUNT=$(wc -l <"$ids")
    FILL_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    [ "$FILL_COUNT" -ge "$n" ]
}

jobs_py() { taskset -c "$CLIENT_CPU" python3 "$LIB/jobs.py" "$@"; }

# sanity: one POST + one GET must work before we measure a server.
sanity() {
    local out=$SRV_DIR/check.json
    if ! jobs_py check --base "$SRV_URL" --project "$PROJECT" >"$out"; then
        note "$SRV_LABEL: sanity check failed: $(head -c 1200 "$out")"
        return 1
    fi
    python3 -c 'import json,sys; [print(w) for w in json.load(open(sys.argv[1]))["warnings"]]' "$out" \
        | while read -r w; do note "$SRV_LABEL: $w"; done
}

# ------------------------------------------------------------------ measurements

start_target() { # start_target BENCH TARGET
    case $2 in
        ecsd) start_server "$1-ecsd" ecsd instant ;;
        ecsd-noauth) start_server "$1-ecsd-noauth" ecsd instant off ;;
        ecsd-fast) start_server "$1-ecsd-fast" ecsd fast ;;
        ecsd-instant) start_server "$1-ecsd-instant" ecsd instant ;;
        ecsd-realistic) start_server "$1-ecsd-realistic" ecsd realistic ;;
        ecsd-fast-noauth) start_server "$1-ecsd-fast-noauth" ecsd fast off ;;
        group) start_server "$1-group" ref sqlite-group ;;
        naive) start_server "$1-naive" ref sqlite-naive ;;
        memory) start_server "$1-memory" ref memory ;;
        sqlite) start_server "$1-sqlite" ref sqlite-group ;;
    esac
}

# Item 1: durable task delivery (every POST creates one job). For ecsd, also
# the bytes written per accepted job: over the window, and (first round) after
# DRAIN_S more seconds without load, by which the realistic profile's jobs
# have ended (a create takes at most ~46 s).
measure_delivery() { # TARGET ROUND
    local t=$1 r=$2 io0 io1 io2 out
    start_target delivery "$t" || return 0
    out=$RUN_DIR/delivery-$t-r$r.json
    if sanity && sign_post && io0=$(write_bytes "$SRV_PID") && run_wrk "$SRV_DIR/warmup.json" "$WARMUP" post.lua; then
        log "delivery $t round $r: ${DURATION}s"
        run_wrk "$out" "$DURATION" post.lua || true
        io1=$(write_bytes "$SRV_PID")
        server_alive || true
        if [[ $t == ecsd-* ]] && [ -s "$out" ]; then
            local drain=2
            [ "$r" = 1 ] && [ "$t" = ecsd-realistic ] && drain=$DRAIN_S
            [ "$r" = 1 ] && [ "$t" != ecsd-realistic ] && drain=5
            log "delivery $t round $r: ${drain}s without load for the jobs to end"
            sleep "$drain"
            io2=$(write_bytes "$SRV_PID")
            python3 - "$out" "$SRV_DIR/warmup.json" "$io0" "$io1" "$io2" "$drain" <<'PY'
import json, sys
path, warm, io0, io1, io2, drain = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
d = json.load(open(path))
jobs = d["ok"] + json.load(open(warm))["ok"]
d["jobs_accepted"] = jobs
d["bytes_per_job_window"] = round((io1 - io0) / jobs) if jobs else None
d["bytes_per_job_after_drain"] = round((io2 - io0) / jobs) if jobs else None
d["drain_s"] = drain
json.dump(d, open(path, "w"))
PY
        fi
        log "delivery $t round $r: $(head -c 200 "$out" 2>/dev/null)"
    fi
    stop_server
}

# Item 2: job query over QUERY_JOBS finished jobs.
measure_query() { # TARGET ROUND
    local t=$1 r=$2 ids
    start_target query "$t" || return 0
    ids=$SRV_DIR/job-ids.txt
    if sanity && fill_jobs "$QUERY_JOBS" "$ids"; then
        if ! jobs_py wait --base "$SRV_URL" --project "$PROJECT" --ids "$ids" --timeout 120 >"$SRV_DIR/wait.json"; then
            note "query $t: not every job became terminal: $(cat "$SRV_DIR/wait.json")"
        elif ! grep -Eq '"statuses": \{"SUCCESS": [0-9]+\}' "$SRV_DIR/wait.json"; then
            note "query $t: jobs did not all succeed: $(cat "$SRV_DIR/wait.json")"
        fi
        sign_gets "$ids" "$SRV_DIR/get.headers"
        if run_wrk "$SRV_DIR/warmup.json" "$WARMUP" get_jobs.lua "$ids" "$SRV_DIR/get.headers"; then
            log "query $t round $r: ${DURATION}s over $FILL_COUNT jobs"
            run_wrk "$RUN_DIR/query-$t-r$r.json" "$DURATION" get_jobs.lua "$ids" "$SRV_DIR/get.headers" || true
            server_alive || true
            log "query $t round $r: $(head -c 200 "$RUN_DIR/query-$t-r$r.json" 2>/dev/null)"
            if [ "$t" = ecsd ]; then
                # The same query while a delivery load (16 connections) runs:
                # reads must not wait for the writer.
                sign_post
                taskset -c "$CLIENT_CPU" wrk -t1 -c16 -d"$((DURATION + 2))s" --timeout 10s \
                    -s "$LIB/post.lua" "$SRV_URL" >"$SRV_DIR/load.wrk.log" 2>&1 &
                local load=$!
                STARTED+=("$load")
                sleep 1
                log "query $t round $r: ${DURATION}s under a delivery load"
                CONNS=48 run_wrk "$RUN_DIR/query-loaded-$t-r$r.json" "$DURATION" get_jobs.lua "$ids" "$SRV_DIR/get.headers" || true
                wait "$load" 2>/dev/null || true
                forget "$load"
                python3 - "$RUN_DIR/query-loaded-$t-r$r.json" "$SRV_DIR/load.wrk.log" <<'PY'
import json, sys
path, log = sys.argv[1], sys.argv[2]
try:
    d = json.load(open(path))
except (OSError, ValueError):
    sys.exit(0)
load = next((json.loads(l.split(" ", 1)[1]) for l in open(log) if l.startswith("BENCH_JSON ")), {})
d["load_ok_rps"] = load.get("ok_rps")
json.dump(d, open(path, "w"))
PY
                log "query under load $t round $r: $(head -c 200 "$RUN_DIR/query-loaded-$t-r$r.json" 2>/dev/null)"
            fi
        fi
    else
        note "query $t: could not prepare $QUERY_JOBS jobs (got ${FILL_COUNT:-0})"
    fi
    stop_server
}

# Item 3: EXEC_SERVERS servers through jobs with --latency instant.
measure_exec() {
    start_server exec-ecsd ecsd instant || return 0
    log "exec: $EXEC_SERVERS servers in jobs of $EXEC_PER_JOB"
    if ! jobs_py exec --base "$SRV_URL" --project "$PROJECT" --servers "$EXEC_SERVERS" \
        --per-job "$EXEC_PER_JOB" --timeout 300 >"$RUN_DIR/exec.json"; then
        note "exec: not every server was created successfully (see exec.json)"
    fi
    log "exec: $(head -c 400 "$RUN_DIR/exec.json")"
    server_alive || true
    stop_server
}

# Item 4: RSS with RSS_JOBS stored jobs (ecsd, and the SQLite reference as a
# floor: it keeps nothing in memory beyond SQLite's page cache). RSS is also
# sampled at half the jobs, so that the report can extrapolate to 1,000,000
# from the second half's growth (bounded caches have filled by then).
measure_rss() { # TARGET
    local t=$1 before mid after hwm half n1 s1 part
    if [ "$t" = ecsd ]; then
        start_server rss-ecsd ecsd "$RSS_LATENCY" || return 0
    else
        start_server rss-group ref sqlite-group || return 0
    fi
    before=$(rss_kib "$SRV_PID")
    half=$((RSS_JOBS / 2))
    log "rss $t: filling $RSS_JOBS jobs in two halves (RSS at start $before KiB)"
    for part in 1 2; do
        [ $part = 1 ] && n1=$half || n1=$((RSS_JOBS - half))
        fill_jobs "$n1" "$SRV_DIR/job-ids-$part.txt" || note "rss $t: only $FILL_COUNT/$n1 jobs created in half $part"
        if [ "$t" = ecsd ]; then
            # The newest jobs finish last: wait for the last 1,000 to be terminal.
            jobs_py wait --base "$SRV_URL" --project "$PROJECT" --ids "$SRV_DIR/job-ids-$part.txt" \
                --sample 1000 --timeout 600 >"$SRV_DIR/wait.json" \
                || note "rss ecsd: jobs not terminal: $(cat "$SRV_DIR/wait.json")"
        fi
        sleep 2
        server_alive || { stop_server; return 0; }
        if [ $part = 1 ]; then
            mid=$(rss_kib "$SRV_PID") s1=$FILL_SECONDS half=$FILL_COUNT
            log "rss $t: $half jobs, RSS $mid KiB"
        fi
    done
    after=$(rss_kib "$SRV_PID") hwm=$(rss_kib "$SRV_PID" VmHWM)
    # VmRSS = RssAnon (heap, including SQLite's page caches) + RssFile (the
    # binary and mapped files, such as SQLite's -shm) + RssShmem.
    cat >"$RUN_DIR/rss-$t.json" <<EOF
{"jobs": $((half + FILL_COUNT)), "jobs_mid": $half,
 "rss_before_kib": $before, "rss_mid_kib": $mid, "rss_after_kib": $after, "hwm_kib": $hwm,
 "rss_anon_kib": $(rss_kib "$SRV_PID" RssAnon), "rss_file_kib": $(rss_kib "$SRV_PID" RssFile),
 "rss_shmem_kib": $(rss_kib "$SRV_PID" RssShmem), "threads": $(rss_kib "$SRV_PID" Threads),
 "db_bytes": $(db_bytes),
 "fill_seconds": $(awk -v a="$s1" -v b="$FILL_SECONDS" 'BEGIN { printf "%.3f", a + b }'),
 "fill_rate": $(awk -v n="$((half + FILL_COUNT))" -v a="$s1" -v b="$FILL_SECONDS" 'BEGIN { printf "%.1f", n / (a + b) }'),
 "latency": "$([ "$t" = ecsd ] && echo "$RSS_LATENCY" || echo n/a)"}
EOF
    log "rss $t: $(tr -d '\n' <"$RUN_DIR/rss-$t.json")"
    stop_server
}

# ------------------------------------------------------------------------ main

ensure_tools
[ "$BUILD" = 1 ] && build
[ -x "$REF" ] || die "$REF missing (run without --no-build)"
[ "$WITH_ECSD" = 0 ] || [ -x "$ECSD" ] || die "$ECSD missing (run without --no-build, or --reference-only)"
mkdir -p "$TMP_BASE"
# Run private copies: a parallel `cargo build` must not swap a binary mid-run.
BIN_DIR=$(mktemp -d -p "$TMP_BASE" ecsd-bench-bin.XXXXXX)
TMP_DIRS+=("$BIN_DIR")
cp "$REF" "$BIN_DIR/bench-reference"
REF=$BIN_DIR/bench-reference
if [ "$WITH_ECSD" = 1 ]; then
    cp "$ECSD" "$BIN_DIR/ecsd"
    ECSD=$BIN_DIR/ecsd
    cp "$SIGNER" "$BIN_DIR/signer"
    SIGNER=$BIN_DIR/signer
fi
if [ "$(stat -f -c %T "$TMP_BASE")" = tmpfs ]; then
    log "warning: $TMP_BASE is tmpfs: fsync costs nothing there; set BENCH_TMPDIR to a disk"
fi

# The servers and wrk use both CPUs: anything else running skews the figures
# (both sides of a ratio, but not equally). Measure how busy the machine is.
cpu_busy_pct() { # percentage of all CPUs busy over one second
    local a b
    read -ra a </proc/stat
    sleep 1
    read -ra b </proc/stat
    awk -v u="$((b[1] + b[2] + b[3] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[6] - a[7] - a[8]))" \
        -v t="$((b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[4] - a[5] - a[6] - a[7] - a[8]))" \
        'BEGIN { printf "%.0f", t ? 100 * u / t : 0 }'
}

mkdir -p "$BENCH_DIR/results"
RUN_DIR=$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN_DIR"
: >"$RUN_DIR/notes.txt"
BUSY=$(cpu_busy_pct)
if [ "$BUSY" -gt 10 ]; then
    note "the machine was ${BUSY}% busy before the run started (other processes); figures may be noisy"
fi
[ "$WITH_ECSD" = 1 ] || note "--reference-only: ecsd was not measured"
[ "$WITH_ECSD" = 1 ] && want delivery && note "delivery: ecsd verifies every request's signature (headers signed once by ecsd call --print-headers); --latency instant ends every job it accepts within the window, fast most, realistic none (its creates take 20-46 s)"

python3 - "$RUN_DIR/meta.json" <<EOF
import json, os, platform, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
json.dump({
    "started": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
    "machine": f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}",
    "items": "$ITEMS",
    "busy_before_pct": $BUSY,
    "ecsd_sha256": "$([ "$WITH_ECSD" = 1 ] && sha256sum "$ECSD" | cut -c1-16)",
    "settings": {"duration": $DURATION, "warmup": $WARMUP, "rounds": $ROUNDS, "connections": $CONNS,
                 "query_jobs": $QUERY_JOBS, "exec_servers": $EXEC_SERVERS, "exec_per_job": $EXEC_PER_JOB,
                 "rss_jobs": $RSS_JOBS, "rss_latency": "$RSS_LATENCY", "server_cpu": "$SERVER_CPU",
                 "client_cpu": "$CLIENT_CPU", "tmpdir": "$TMP_BASE", "with_ecsd": $WITH_ECSD == 1},
}, open(sys.argv[1], "w"), indent=2)
EOF
log "results in $RUN_DIR"

# Targets alternate inside each round, and the order flips every round, so
# that drift on the machine does not favour one server.
in_order() { # ROUND TARGET... -> targets, reversed on even rounds
    local r=$1
    shift
    if [ $((r % 2)) = 0 ]; then printf '%s\n' "$@" | tac; else printf '%s\n' "$@"; fi
}
ecsd_target=() ecsd_delivery=()
if [ "$WITH_ECSD" = 1 ]; then
    ecsd_target=(ecsd) ecsd_delivery=(ecsd-fast ecsd-instant ecsd-realistic)
    [ "$AUTH_OFF_LINE" = 1 ] && ecsd_target+=(ecsd-noauth) ecsd_delivery+=(ecsd-fast-noauth)
fi

for r in $(seq "$ROUNDS"); do
    if want delivery; then
        delivery_targets=("${ecsd_delivery[@]}")
        for t in $(in_order "$r" "${delivery_targets[@]}" group naive); do measure_delivery "$t" "$r"; done
    fi
    if want query; then
        q=("${ecsd_target[@]}" memory)
        [ "$QUERY_SQLITE" = 1 ] && q+=(sqlite)
        for t in $(in_order "$r" "${q[@]}"); do measure_query "$t" "$r"; done
    fi
done
if want exec && [ "$WITH_ECSD" = 1 ]; then measure_exec; fi
if want rss; then
    [ "$WITH_ECSD" = 1 ] && measure_rss ecsd
    measure_rss group
fi

echo
python3 "$LIB/report.py" "$RUN_DIR"
cp "$RUN_DIR/summary.md" "$BENCH_DIR/results/latest.md"
cp "$RUN_DIR/summary.json" "$BENCH_DIR/results/latest.json"
log "wrote $RUN_DIR/summary.{md,json} (copied to bench/results/latest.*)"
