-- Signed headers made by `ecsd call --print-headers` (bench/run.sh): one line
-- per request, the path then each header as "name: value", tab-separated.
-- signed_headers(FILE) returns {path = {name = value, ...}, ...} and the paths
-- in file order. The host header is left out: wrk sends the URL's host, which
-- is the one signed.

function signed_headers(file)
  local by_path, paths = {}, {}
  local f = file and file ~= "" and io.open(file, "r")
  if not f then
    return by_path, paths
  end
  for line in f:lines() do
    local fields = {}
    for field in line:gmatch("[^\t]+") do
      fields[#fields + 1] = field
    end
    local path, headers = fields[1], {}
    for k = 2, #fields do
      local name, value = fields[k]:match("^([^:]+): (.*)$")
      if name and name ~= "host" then
        headers[name] = value
      end
    end
    if path then
      by_path[path] = headers
      paths[#paths + 1] = path
    end
  end
  f:close()
  return by_path, paths
end
