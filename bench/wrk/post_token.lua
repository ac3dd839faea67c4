-- POST /api/v1/tokens with a small JSON body; the key comes from bench_server.py.
local key = os.getenv("NG_BENCH_KEY") or ""
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
local i = 0
request = function()
  i = i + 1
  local body = string.format('{"label":"w%d","weight":0.5,"coords":{"cognitive":[0.1,0.2,0.3]}}', i)
  return wrk.format(nil, "/api/v1/tokens", nil, body)
end
