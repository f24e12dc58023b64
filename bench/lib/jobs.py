#!/usr/bin/env python3
"""Job helpers for the ecsd benchmark (standard library only).

  jobs.py wait --base URL --project P --ids FILE [--timeout S] [--sample N]
      Poll GET /v1/{P}/jobs/{id} for the ids in FILE until every job is
      terminal (SUCCESS or FAIL). Prints one JSON object: counts per status.

  jobs.py check --base URL --project P
      Sanity check before a measurement: one POST must answer 200 with a
      job_id (and one serverIds entry), and GET of that job must answer 200
      with a status. Shape deviations are printed as warnings.

  jobs.py exec --base URL --project P [--servers 10000] [--per-job 100]
      Execution throughput (benchmark item 3): create SERVERS servers with
      SERVERS/PER_JOB POSTs of count=PER_JOB, then poll the jobs until all are
      terminal. Prints one JSON object with the time from the first POST to
      the last job seen SUCCESS, and checks every sub-job.

Every HTTP exchange uses keep-alive connections (http.client); a connection
that breaks is reopened once per request. With BENCH_AK and BENCH_SK set
(bench/run.sh sets them unless the server runs with --auth off), every request
is signed with SDK-HMAC-SHA256 as the Huawei Cloud SDKs sign, so the helpers
work against ecsd with verification on.
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import queue
import re
import sys
import threading
import time
import urllib.parse

TERMINAL = ("SUCCESS", "FAIL")

BODY = {
    "server": {
        "imageRef": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e",
        "flavorRef": "s3.medium.1",
        "name": "bench",
        "vpcid": "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11",
        "nics": [{"subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33"}],
        "root_volume": {"volumetype": "SSD"},
    }
}


def _encode(text):
    return urllib.parse.quote(text, safe="-_.~")


def sign(method, path, host, project, body, access_key, secret_key):
    """The headers of an SDK-HMAC-SHA256 request (api::signature's canonical form)."""
    path, _, query = path.partition("?")
    uri = "/".join(_encode(urllib.parse.unquote(seg)) for seg in path.split("/"))
    if not uri.endswith("/"):
        uri += "/"
    pairs = sorted(
        (urllib.parse.unquote(k), urllib.parse.unquote(v))
        for k, _, v in (part.partition("=") for part in query.split("&") if part)
    )
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "content-type": "application/json",
        "host": host,
        "x-project-id": project,
        "x-sdk-date": date,
    }
    names = sorted(headers)
    canonical = "\n".join([
        method.upper(),
        uri,
        canonical_query,
        "".join(f"{n}:{headers[n].strip()}\n" for n in names),
        ";".join(names),
        hashlib.sha256(body or b"").hexdigest(),
    ])
    to_sign = "SDK-HMAC-SHA256\n%s\n%s" % (date, hashlib.sha256(canonical.encode()).hexdigest())
    signature = hmac.new(secret_key.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"SDK-HMAC-SHA256 Access={access_key}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature}"
    )
    return headers


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None
        self.keys = (os.environ.get("BENCH_AK"), os.environ.get("BENCH_SK"))
        self.project = os.environ.get("BENCH_PROJECT", "0123456789abcdef0123456789abcdef")

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        if all(self.keys):
            headers = sign(method, path, f"{self.host}:{self.port}", self.project, data,
                           *self.keys)
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = raw.decode(errors="replace")
                return resp.status, parsed
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def poll_until_terminal(client, project, job_ids, deadline, pause=0.02):
    """Return ({job_id: last body}, {job_id: monotonic time seen terminal})."""
    pending = list(job_ids)
    last, done_at = {}, {}
    while pending and time.monotonic() < deadline:
        still = []
        for jid in pending:
            status, body = client.request("GET", f"/v1/{project}/jobs/{jid}")
            last[jid] = body if status == 200 else {"status": f"HTTP {status}", "body": body}
            if status == 200 and isinstance(body, dict) and body.get("status") in TERMINAL:
                done_at[jid] = time.monotonic()
            else:
                still.append(jid)
        pending = still
        if pending:
            time.sleep(pause)
    return last, done_at


def count_statuses(last):
    counts = {}
    for body in last.values():
        s = body.get("status") if isinstance(body, dict) else str(body)
        counts[s] = counts.get(s, 0) + 1
    return counts


def cmd_wait(a):
    with open(a.ids) as f:
        ids = [line.strip() for line in f if line.strip()]
    if a.sample and len(ids) > a.sample:
        ids = ids[-a.sample:]  # the newest jobs finish last
    t0 = time.monotonic()
    last, done_at = poll_until_terminal(Client(a.base), a.project, ids, t0 + a.timeout, 0.1)
    out = {
        "jobs": len(ids),
        "terminal": len(done_at),
        "statuses": count_statuses(last),
        "seconds": round(time.monotonic() - t0, 3),
    }
    print(json.dumps(out))
    return 0 if len(done_at) == len(ids) else 1


def cmd_check(a):
    c = Client(a.base)
    out = {"ok": False, "warnings": []}
    status, resp = c.request("POST", f"/v1/{a.project}/cloudservers", BODY)
    out["post"] = {"status": status, "body": resp}
    if status != 200 or not isinstance(resp, dict) or not isinstance(resp.get("job_id"), str):
        print(json.dumps(out))
        return 1
    jid = resp["job_id"]
    if not re.fullmatch(r"[0-9a-f]{32}", jid):
        out["warnings"].append(f"job_id {jid!r} is not 32 lowercase hex characters")
    if len(resp.get("serverIds") or []) != 1:
        out["warnings"].append(f"serverIds is {resp.get('serverIds')!r}, expected one id")
    status, job = c.request("GET", f"/v1/{a.project}/jobs/{jid}")
    out["get"] = {"status": status, "body": job}
    if status != 200 or not isinstance(job, dict) or "status" not in job:
        print(json.dumps(out))
        return 1
    for k in ("job_id", "job_type", "begin_time", "entities"):
        if k not in job:
            out["warnings"].append(f"job answer lacks {k!r}")
    out["ok"] = True
    print(json.dumps(out))
    return 0


def cmd_exec(a):
    posts = -(-a.servers // a.per_job)
    counts = [a.per_job] * (posts - 1) + [a.servers - a.per_job * (posts - 1)]
    work = queue.Queue()
    for c in counts:
        work.put(c)
    job_ids, errors, lock = [], [], threading.Lock()

    def poster():
        client = Client(a.base)
        while True:
            try:
                c = work.get_nowait()
            except queue.Empty:
                return
            body = json.loads(json.dumps(BODY))
            body["server"]["count"] = c
            try:
                status, resp = client.request("POST", f"/v1/{a.project}/cloudservers", body)
            except Exception as e:  # noqa: BLE001 - reported, not hidden
                status, resp = None, repr(e)
            with lock:
                if status == 200 and isinstance(resp, dict) and "job_id" in resp:
                    job_ids.append((resp["job_id"], c, len(resp.get("serverIds") or [])))
                else:
                    errors.append({"status": status, "body": resp})

    t0 = time.monotonic()
    threads = [threading.Thread(target=poster) for _ in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_posted = time.monotonic()
    last, done_at = poll_until_terminal(
        Client(a.base), a.project, [j for j, _, _ in job_ids], t0 + a.timeout
    )
    t_end = max(done_at.values()) if done_at else time.monotonic()

    # Verify what was reported: every job SUCCESS, one SUCCESS sub-job per
    # requested server, distinct server ids, serverIds of the right length.
    sub_total, sub_ok, server_ids, problems = 0, 0, set(), []
    for jid, c, n_ids in job_ids:
        body = last.get(jid) or {}
        if n_ids != c:
            problems.append(f"job {jid}: serverIds has {n_ids} ids, count was {c}")
        ent = (body.get("entities") or {}) if isinstance(body, dict) else {}
        subs = ent.get("sub_jobs") or []
        sub_total += len(subs)
        if ent.get("sub_jobs_total") != c or len(subs) != c:
            problems.append(
                f"job {jid}: sub_jobs_total={ent.get('sub_jobs_total')} "
                f"len(sub_jobs)={len(subs)}, count was {c}"
            )
        for s in subs:
            if s.get("status") == "SUCCESS":
                sub_ok += 1
            server_ids.add((s.get("entities") or {}).get("server_id"))
    server_ids.discard(None)
    statuses = count_statuses(last)
    ok = (
        not errors
        and statuses.get("SUCCESS", 0) == posts
        and sub_ok == a.servers
        and len(server_ids) == a.servers
    )
    out = {
        "servers": a.servers,
        "jobs": posts,
        "per_job": a.per_job,
        "accepted_jobs": len(job_ids),
        "post_errors": errors[:5],
        "post_error_count": len(errors),
        "statuses": statuses,
        "sub_jobs_seen": sub_total,
        "sub_jobs_success": sub_ok,
        "distinct_server_ids": len(server_ids),
        "problems": problems[:5],
        "post_seconds": round(t_posted - t0, 3),
        "seconds": round(t_end - t0, 3),
        "servers_per_second": round(sub_ok / (t_end - t0), 1) if t_end > t0 else None,
        "ok": ok,
    }
    if not ok:
        failed = [b for b in last.values() if isinstance(b, dict) and b.get("status") != "SUCCESS"]
        out["example_unfinished_or_failed"] = json.dumps(failed[:1])[:2000]
    print(json.dumps(out))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("wait", "exec", "check"):
        s = sub.add_parser(name)
        s.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
        s.add_argument("--project", required=True)
        s.add_argument("--timeout", type=float, default=120.0)
        if name == "wait":
            s.add_argument("--ids", required=True)
            s.add_argument("--sample", type=int, default=0, help="only the last N ids")
        elif name == "exec":
            s.add_argument("--servers", type=int, default=10_000)
            s.add_argument("--per-job", type=int, default=100)
            s.add_argument("--connections", type=int, default=4)
    a = p.parse_args()
    return {"wait": cmd_wait, "exec": cmd_exec, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
