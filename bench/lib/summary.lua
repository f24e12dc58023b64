-- Shared by every wrk script of the ecsd benchmark: done() prints one line
--   BENCH_JSON {...}
-- that bench/run.sh extracts. Latencies are converted from wrk's
-- microseconds to milliseconds. "ok_rps" counts only answers below 400.

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local ok = summary.requests - e.status
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"ok":%d,"duration_s":%.3f,"rps":%.1f,"ok_rps":%.1f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, ok, secs, summary.requests / secs, ok / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
