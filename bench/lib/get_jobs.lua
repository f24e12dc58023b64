-- Job query: GET /v1/{project}/jobs/{job_id}, cycling round-robin over the
-- job ids in the file given as the first script argument:
--   wrk ... -s get_jobs.lua URL -- IDS_FILE [HEADERS_FILE]
-- HEADERS_FILE (from `ecsd call --print-headers`) holds each path's signed
-- headers. Requests are pre-formatted in init() so that wrk spends no time
-- building them during the measurement.

local lib = os.getenv("BENCH_LIB") or "bench/lib"
dofile(lib .. "/summary.lua")
dofile(lib .. "/signed.lua")

local project = os.getenv("BENCH_PROJECT") or "0123456789abcdef0123456789abcdef"
local reqs, n, i = {}, 0, 0

function init(args)
  local path = args[1]
  assert(path, "usage: wrk ... -s get_jobs.lua URL -- IDS_FILE [HEADERS_FILE]")
  local by_path = signed_headers(args[2])
  for id in io.lines(path) do
    if id ~= "" then
      n = n + 1
      local p = "/v1/" .. project .. "/jobs/" .. id
      reqs[n] = wrk.format("GET", p, by_path[p])
    end
  end
  assert(n > 0, "no job ids in " .. path)
end

function request()
  i = i % n + 1
  return reqs[i]
end
