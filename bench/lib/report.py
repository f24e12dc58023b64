#!/usr/bin/env python3
"""Build the ecsd benchmark report from the raw results of one run.

  report.py RUN_DIR

RUN_DIR holds what bench/run.sh wrote during the run:
  meta.json                      settings, machine
  notes.txt                      problems seen during the run, one a line
  delivery-<target>-r<N>.json    wrk summary (lib/summary.lua), target in
                                 ecsd-fast | ecsd-instant | ecsd-realistic |
                                 ecsd-fast-noauth | group | naive; ecsd's
                                 carry bytes written per accepted job
  query-<target>-r<N>.json       wrk summary, target in ecsd | ecsd-noauth |
                                 memory | sqlite
  query-loaded-ecsd-r<N>.json    the job query while a delivery load runs
  exec.json                      lib/jobs.py exec output
  rss-<target>.json              RSS step (bench/run.sh --rss), ecsd | group

Every figure of a target is the median over its rounds; the ratio is
median(ecsd) / median(baseline), both measured in this run. Writes
RUN_DIR/summary.json and RUN_DIR/summary.md and prints the table.
"""

import glob
import json
import os
import re
import statistics
import sys

GOAL_DELIVERY = 0.7  # ecsd >= 0.7 x SQLite group-commit reference
GOAL_QUERY = 0.5  # ecsd >= 0.5 x in-memory reference
GOAL_QUERY_P99_MS = 10.0
GOAL_REALISTIC_OF_FAST = 0.9  # realistic delivery within 10 % of fast
GOAL_BYTES_REALISTIC_OVER_INSTANT = 1.5
GOAL_EXEC_S = 5.0
GOAL_RSS_MIB_AT_1M = 150.0
# % of the server CPU used by anything but the server. fsync-heavy servers
# cause ~10 % themselves (kernel I/O threads and interrupts on that CPU).
FOREIGN_CPU_WARN = 15.0


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def rounds(run_dir, bench, target):
    out = []
    for path in sorted(glob.glob(os.path.join(run_dir, f"{bench}-{target}-r*.json"))):
        r = load(path)
        if r is not None:
            r["round"] = int(re.search(r"-r(\d+)\.json$", path).group(1))
            out.append(r)
    return out


def errors_of(r):
    e = r.get("errors") or {}
    return sum(e.get(k, 0) for k in ("connect", "read", "write", "status", "timeout"))


def summarize(rs):
    """Median figures over the rounds of one target, or None."""
    if not rs:
        return None
    med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
    return {
        "rounds": len(rs),
        "ok_rps": med("ok_rps"),
        "ok_rps_min": min(r["ok_rps"] for r in rs),
        "ok_rps_max": max(r["ok_rps"] for r in rs),
        "p50_ms": med("p50_ms"),
        "p99_ms": med("p99_ms"),
        "errors": sum(errors_of(r) for r in rs),
        "foreign_cpu_pct_max": max((r.get("foreign_cpu_pct") or 0) for r in rs),
        "per_round": [
            {k: r.get(k) for k in ("round", "ok_rps", "p50_ms", "p99_ms", "errors",
                                   "server_cpu_pct", "foreign_cpu_pct")} for r in rs
        ],
    }


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def fmt_num(x, digits=0):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}×"


def met(cond):
    return "—" if cond is None else ("met" if cond else "NOT met")


def main(run_dir):
    meta = load(os.path.join(run_dir, "meta.json")) or {}
    d = {t: summarize(rounds(run_dir, "delivery", t))
         for t in ("ecsd-fast", "ecsd-instant", "ecsd-realistic", "ecsd-fast-noauth", "group", "naive")}
    q = {t: summarize(rounds(run_dir, "query", t)) for t in ("ecsd", "ecsd-noauth", "memory", "sqlite")}
    loaded = summarize(rounds(run_dir, "query-loaded", "ecsd"))
    bytes_per_job = {}
    for t in ("ecsd-fast", "ecsd-instant", "ecsd-realistic"):
        rs = [r for r in rounds(run_dir, "delivery", t) if r.get("bytes_per_job_after_drain")]
        first = min(rs, key=lambda r: r["round"]) if rs else None
        bytes_per_job[t] = None if first is None else {
            k: first.get(k) for k in ("bytes_per_job_window", "bytes_per_job_after_drain", "drain_s",
                                      "jobs_accepted", "round")}
    ex = load(os.path.join(run_dir, "exec.json"))
    rss = {t: load(os.path.join(run_dir, f"rss-{t}.json")) for t in ("ecsd", "group")}

    rows, notes = [], list(meta.get("notes") or [])
    try:
        with open(os.path.join(run_dir, "notes.txt")) as f:
            notes += [line.rstrip("\n") for line in f if line.strip()]
    except OSError:
        pass

    def v(s, k):
        return None if s is None else s[k]

    def lat(s):
        return "—" if s is None else f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f}"

    for name, group in (("delivery", d), ("query", q), ("query-loaded", {"ecsd": loaded})):
        for t, s in group.items():
            if s and s["errors"]:
                notes.append(f"{name} {t}: {s['errors']} failed requests (see raw files)")
            for r in (s or {}).get("per_round", []):
                if (r.get("foreign_cpu_pct") or 0) > FOREIGN_CPU_WARN:
                    notes.append(
                        f"{name} {t} round {r['round']}: other processes or kernel threads used "
                        f"{r['foreign_cpu_pct']}% of the server CPU; that round may be disturbed"
                    )

    if any(d.values()):
        grp = f"{fmt_num(v(d['group'], 'ok_rps'))} (SQLite group commit)"
        r1 = ratio(v(d["ecsd-fast"], "ok_rps"), v(d["group"], "ok_rps"))
        rows.append({
            "id": "1", "metric": "Durable task delivery: POST create, --latency fast, verified, req/s",
            "ecsd": fmt_num(v(d["ecsd-fast"], "ok_rps")), "baseline": grp,
            "ratio": fmt_ratio(r1), "goal": f"≥ {GOAL_DELIVERY:.2f}×",
            "result": met(None if r1 is None else r1 >= GOAL_DELIVERY),
            "value": {"ecsd": d["ecsd-fast"], "baseline": d["group"], "ratio": r1},
        })
        rows.append({
            "id": "1", "metric": "  delivery latency p50 / p99, ms",
            "ecsd": lat(d["ecsd-fast"]), "baseline": lat(d["group"]),
            "ratio": "", "goal": "", "result": "",
        })
        ri = ratio(v(d["ecsd-instant"], "ok_rps"), v(d["group"], "ok_rps"))
        rows.append({
            "id": "1a", "metric": "  --latency instant (every job also ended in the window), req/s",
            "ecsd": fmt_num(v(d["ecsd-instant"], "ok_rps")), "baseline": grp,
            "ratio": fmt_ratio(ri), "goal": "info", "result": "",
            "value": {"ecsd": d["ecsd-instant"], "baseline": d["group"], "ratio": ri},
        })
        rr = ratio(v(d["ecsd-realistic"], "ok_rps"), v(d["group"], "ok_rps"))
        rf = ratio(v(d["ecsd-realistic"], "ok_rps"), v(d["ecsd-fast"], "ok_rps"))
        rows.append({
            "id": "1c", "metric": "  --latency realistic, req/s (ratio to fast in goal column)",
            "ecsd": fmt_num(v(d["ecsd-realistic"], "ok_rps")), "baseline": grp,
            "ratio": fmt_ratio(rr),
            "goal": f"{fmt_ratio(rf)} of fast, ≥ {GOAL_REALISTIC_OF_FAST:.2f}×",
            "result": met(None if rf is None else rf >= GOAL_REALISTIC_OF_FAST),
            "value": {"ecsd": d["ecsd-realistic"], "baseline": d["group"], "ratio": rr, "of_fast": rf},
        })
        if d["ecsd-fast-noauth"]:
            rn_ = ratio(v(d["ecsd-fast-noauth"], "ok_rps"), v(d["group"], "ok_rps"))
            rows.append({
                "id": "1d", "metric": "  --latency fast --auth off (no verification), req/s",
                "ecsd": fmt_num(v(d["ecsd-fast-noauth"], "ok_rps")), "baseline": grp,
                "ratio": fmt_ratio(rn_), "goal": "info", "result": "",
                "value": {"ecsd": d["ecsd-fast-noauth"], "ratio": rn_},
            })
        rn = ratio(v(d["group"], "ok_rps"), v(d["naive"], "ok_rps"))
        rows.append({
            "id": "1b", "metric": "  vs SQLite naive (1 txn/request), req/s",
            "ecsd": "",
            "baseline": f"{fmt_num(v(d['naive'], 'ok_rps'))} (p99 {fmt_num(v(d['naive'], 'p99_ms'), 1)} ms)",
            "ratio": fmt_ratio(ratio(v(d["ecsd-fast"], "ok_rps"), v(d["naive"], "ok_rps"))),
            "goal": f"info: group/naive {fmt_ratio(rn)}", "result": "",
            "value": {"baseline": d["naive"], "group_over_naive": rn},
        })
        for t in ("ecsd-instant", "ecsd-fast", "ecsd-realistic"):
            b = bytes_per_job[t]
            if b is None:
                continue
            goal, result = "info", ""
            if t == "ecsd-realistic" and bytes_per_job["ecsd-instant"]:
                rb = ratio(b["bytes_per_job_after_drain"],
                           bytes_per_job["ecsd-instant"]["bytes_per_job_after_drain"])
                goal = f"{fmt_ratio(rb)} of instant, ≤ {GOAL_BYTES_REALISTIC_OVER_INSTANT:.1f}×"
                result = met(None if rb is None else rb <= GOAL_BYTES_REALISTIC_OVER_INSTANT)
            rows.append({
                "id": "1e", "metric": f"  bytes written per accepted job, {t[5:]} (window / after {b['drain_s']} s)",
                "ecsd": f"{fmt_num(b['bytes_per_job_window'])} / {fmt_num(b['bytes_per_job_after_drain'])}",
                "baseline": "", "ratio": "", "goal": goal, "result": result, "value": b,
            })

    if any(q.values()):
        r2 = ratio(v(q["ecsd"], "ok_rps"), v(q["memory"], "ok_rps"))
        rows.append({
            "id": "2", "metric": "Job query: GET job, req/s",
            "ecsd": fmt_num(v(q["ecsd"], "ok_rps")),
            "baseline": f"{fmt_num(v(q['memory'], 'ok_rps'))} (in-memory)",
            "ratio": fmt_ratio(r2), "goal": f"≥ {GOAL_QUERY:.2f}×",
            "result": met(None if r2 is None else r2 >= GOAL_QUERY),
            "value": {"ecsd": q["ecsd"], "baseline": q["memory"], "ratio": r2},
        })
        p99 = v(q["ecsd"], "p99_ms")
        rows.append({
            "id": "2", "metric": "  query latency p50 / p99, ms",
            "ecsd": lat(q["ecsd"]), "baseline": lat(q["memory"]),
            "ratio": "", "goal": f"p99 < {GOAL_QUERY_P99_MS:g} ms",
            "result": met(None if p99 is None else p99 < GOAL_QUERY_P99_MS),
        })
        if q["ecsd-noauth"]:
            ro = ratio(v(q["ecsd-noauth"], "ok_rps"), v(q["memory"], "ok_rps"))
            rows.append({
                "id": "2a", "metric": "  --auth off (no verification), req/s",
                "ecsd": fmt_num(v(q["ecsd-noauth"], "ok_rps")),
                "baseline": f"{fmt_num(v(q['memory'], 'ok_rps'))} (in-memory)",
                "ratio": fmt_ratio(ro), "goal": "info", "result": "",
                "value": {"ecsd": q["ecsd-noauth"], "ratio": ro},
            })
        if loaded:
            lp99 = loaded["p99_ms"]
            load_rps = statistics.median(
                r.get("load_ok_rps") or 0 for r in rounds(run_dir, "query-loaded", "ecsd"))
            rows.append({
                "id": "2c", "metric": f"  query under a delivery load ({fmt_num(load_rps)} POST/s), p50 / p99 ms",
                "ecsd": lat(loaded), "baseline": f"{fmt_num(loaded['ok_rps'])} GET/s",
                "ratio": "", "goal": f"p99 < {GOAL_QUERY_P99_MS:g} ms",
                "result": met(lp99 < GOAL_QUERY_P99_MS), "value": loaded,
            })
        if q["sqlite"]:
            rows.append({
                "id": "2b", "metric": "  vs GET from the SQLite reference, req/s",
                "ecsd": "",
                "baseline": f"{fmt_num(v(q['sqlite'], 'ok_rps'))} (p99 {fmt_num(v(q['sqlite'], 'p99_ms'), 1)} ms)",
                "ratio": fmt_ratio(ratio(v(q["ecsd"], "ok_rps"), v(q["sqlite"], "ok_rps"))),
                "goal": "info", "result": "",
                "value": {"baseline": q["sqlite"]},
            })

    if ex is not None:
        # Baseline: the time the group-commit reference needs to durably
        # store as many rows as there are servers, at its measured rate.
        grp_rps = v(d["group"], "ok_rps")
        base_s = ex["servers"] / grp_rps if grp_rps else None
        secs = ex.get("seconds") if ex.get("ok") else None
        rows.append({
            "id": "3",
            "metric": f"Execution: {ex['servers']:,} servers ({ex['jobs']} jobs), s to all SUCCESS",
            "ecsd": fmt_num(ex.get("seconds"), 2) + ("" if ex.get("ok") else " (INVALID)"),
            "baseline": f"{fmt_num(base_s, 2)} ({ex['servers']:,} group-commit inserts)",
            "ratio": fmt_ratio(ratio(secs, base_s)), "goal": f"< {GOAL_EXEC_S:g} s",
            "result": met(None if secs is None else secs < GOAL_EXEC_S),
            "value": ex,
        })
        if not ex.get("ok"):
            notes.append("execution benchmark invalid: " + json.dumps(
                {k: ex.get(k) for k in ("post_error_count", "post_errors", "statuses", "sub_jobs_success",
                                        "distinct_server_ids", "problems")})[:1500])

    if rss["ecsd"] or rss["group"]:
        e, g = rss["ecsd"] or {}, rss["group"] or {}
        jobs = e.get("jobs") or g.get("jobs")
        mib = lambda kib: None if kib is None else kib / 1024  # noqa: E731
        rows.append({
            "id": "4", "metric": f"RSS with {fmt_num(jobs)} stored jobs, MiB",
            "ecsd": f"{fmt_num(mib(e.get('rss_after_kib')), 1)} (start {fmt_num(mib(e.get('rss_before_kib')), 1)}, "
                    f"half {fmt_num(mib(e.get('rss_mid_kib')), 1)}, peak {fmt_num(mib(e.get('hwm_kib')), 1)})",
            "baseline": f"{fmt_num(mib(g.get('rss_after_kib')), 1)} (SQLite group ref)",
            "ratio": fmt_ratio(ratio(e.get("rss_after_kib"), g.get("rss_after_kib"))),
            "goal": "", "result": "",
            "value": rss,
        })
        if e.get("rss_after_kib") and jobs:
            # Growth per job over the second half of the fill (caches with a
            # bound have filled by then), projected linearly to 1,000,000.
            if e.get("rss_mid_kib") is not None and jobs > e.get("jobs_mid", 0):
                per_job = (e["rss_after_kib"] - e["rss_mid_kib"]) * 1024 / (jobs - e["jobs_mid"])
            else:
                per_job = (e["rss_after_kib"] - e["rss_before_kib"]) * 1024 / jobs
            proj = (e["rss_after_kib"] * 1024 + max(0, per_job) * max(0, 1_000_000 - jobs)) / 2**20
            rows.append({
                "id": "4", "metric": "  ecsd RSS at 1,000,000 jobs, MiB" + ("" if jobs >= 1_000_000 else " (extrapolated)"),
                "ecsd": f"{proj:,.1f} (+{per_job:,.0f} B/job)", "baseline": "", "ratio": "",
                "goal": f"< {GOAL_RSS_MIB_AT_1M:g} MiB", "result": met(proj < GOAL_RSS_MIB_AT_1M),
            })
        if e.get("rss_anon_kib") is not None:
            rows.append({
                "id": "4", "metric": "  RSS split: anon / file / shmem, MiB",
                "ecsd": " / ".join(fmt_num(mib(e.get(k)), 1) for k in ("rss_anon_kib", "rss_file_kib", "rss_shmem_kib")),
                "baseline": " / ".join(fmt_num(mib(g.get(k)), 1) for k in ("rss_anon_kib", "rss_file_kib", "rss_shmem_kib")),
                "ratio": "", "goal": "", "result": "",
            })
        rows.append({
            "id": "4", "metric": "  database size on disk, MiB",
            "ecsd": fmt_num(None if not e.get("db_bytes") else e["db_bytes"] / 2**20, 1),
            "baseline": fmt_num(None if not g.get("db_bytes") else g["db_bytes"] / 2**20, 1),
            "ratio": "", "goal": "", "result": "",
        })
        rows.append({
            "id": "4", "metric": "  fill rate (64 conns), jobs/s",
            "ecsd": fmt_num(e.get("fill_rate")), "baseline": fmt_num(g.get("fill_rate")),
            "ratio": "", "goal": "", "result": "",
        })

    cols = ("metric", "ecsd", "baseline", "ratio", "goal", "result")
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in cols}
    text = [" | ".join(c.ljust(widths[c]) for c in cols), "-+-".join("-" * widths[c] for c in cols)]
    text += [" | ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols) for r in rows]
    md = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    md += ["| " + " | ".join(str(r.get(c, "")).replace("|", "/") for c in cols) + " |" for r in rows]

    settings = meta.get("settings") or {}
    header = (
        f"ecsd benchmark {meta.get('started', '')} — {meta.get('machine', '')}\n"
        f"rounds={settings.get('rounds')} duration={settings.get('duration')}s "
        f"warmup={settings.get('warmup')}s connections={settings.get('connections')} "
        f"server cpu {settings.get('server_cpu')}, client cpu {settings.get('client_cpu')}; "
        f"CPU busy before start {meta.get('busy_before_pct', '?')}%; "
        "figures are medians over rounds"
    )
    print(header)
    print("\n".join(text))
    for n in notes:
        print(f"note: {n}")

    with open(os.path.join(run_dir, "summary.md"), "w") as f:
        f.write(f"# ecsd benchmark\n\n{header}\n\n" + "\n".join(md) + "\n")
        if notes:
            f.write("\nNotes:\n\n" + "".join(f"- {n}\n" for n in notes))
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "notes": notes,
                   "delivery": d, "query": q, "query_loaded": loaded,
                   "bytes_per_job": bytes_per_job, "exec": ex, "rss": rss}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
