-- GET /api/v1/tokens/{id} for random ids in 1..N; set by bench_server.py through env vars.
local n = tonumber(os.getenv("NG_BENCH_TOKENS") or "1000")
local key = os.getenv("NG_BENCH_KEY") or ""
wrk.headers["Authorization"] = "Bearer " .. key
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/tokens/" .. math.random(1, n))
end
