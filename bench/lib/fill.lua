-- Create jobs until N were accepted, appending each job_id to a file.
--   wrk ... -s fill.lua URL -- N IDS_FILE
-- Used to prepare the job-query benchmark and to fill ecsd for the RSS
-- measurement. Run it with -t1: the file and the counter are per thread.
-- wrk has no request-count limit, so the thread stops itself at N and
-- bench/run.sh, which watches the file, ends wrk with SIGINT.

local lib = os.getenv("BENCH_LIB") or "bench/lib"
dofile(lib .. "/post.lua")

local target, out = 1000, nil
created, failed = 0, 0

function init(args)
  target = tonumber(args[1]) or target
  if args[2] and args[2] ~= "" then
    out = assert(io.open(args[2], "w"))
  end
end

function response(status, headers, body)
  if created >= target then
    return -- answers that were in flight when we stopped
  end
  local id = status == 200 and body:match('"job_id"%s*:%s*"([^"]+)"')
  if id then
    created = created + 1
    if out then
      out:write(id, "\n")
      out:flush()
    end
  else
    failed = failed + 1
    if failed <= 3 then
      io.stderr:write("fill: HTTP ", status, ": ", body:sub(1, 300), "\n")
    end
  end
  if created >= target or failed >= 1000 then
    wrk.thread:stop()
  end
end
