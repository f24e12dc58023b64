-- Durable task delivery: every request creates one job (one server).
--   POST /v1/{project}/cloudservers
-- The project comes from BENCH_PROJECT (set by bench/run.sh).

local lib = os.getenv("BENCH_LIB") or "bench/lib"
dofile(lib .. "/summary.lua")

local project = os.getenv("BENCH_PROJECT") or "0123456789abcdef0123456789abcdef"

wrk.method = "POST"
wrk.path = "/v1/" .. project .. "/cloudservers"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"server": {"imageRef": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e", ' ..
  '"flavorRef": "s3.medium.1", "name": "bench", ' ..
  '"vpcid": "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11", ' ..
  '"nics": [{"subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33"}], ' ..
  '"root_volume": {"volumetype": "SSD"}}}'
