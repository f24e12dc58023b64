-- Durable task delivery: every request creates one job (one server).
--   POST /v1/{project}/cloudservers
-- The project comes from BENCH_PROJECT (set by bench/run.sh); the body is
-- bench/lib/create.json, byte for byte (it is what the signature covers). With
-- BENCH_POST_HEADERS naming a file of signed headers (`ecsd call
-- --print-headers`), every request carries them: one signature, valid for 15
-- minutes, serves the whole run.

local lib = os.getenv("BENCH_LIB") or "bench/lib"
dofile(lib .. "/summary.lua")
dofile(lib .. "/signed.lua")

local project = os.getenv("BENCH_PROJECT") or "0123456789abcdef0123456789abcdef"

wrk.method = "POST"
wrk.path = "/v1/" .. project .. "/cloudservers"
wrk.headers["Content-Type"] = "application/json"
local body_file = assert(io.open(lib .. "/create.json", "rb"))
wrk.body = body_file:read("*a")
body_file:close()
local by_path = signed_headers(os.getenv("BENCH_POST_HEADERS"))
for name, value in pairs(by_path[wrk.path] or {}) do
  wrk.headers[name] = value
end
