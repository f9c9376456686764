-- wrk script: POST a GraphQL document from env; fresh idempotency keys where the body has KEY.
local body_template = os.getenv("BENCH_BODY")
local token = os.getenv("BENCH_TOKEN")
-- Per wrk run: Lua's random numbers are unseeded, so without it every run reuses the keys.
local nonce = os.getenv("BENCH_NONCE") or ""
local ids = {}
for id in string.gmatch(os.getenv("BENCH_IDS") or "", "[^,]+") do table.insert(ids, id) end
local threads = {}
local counter = 0
local bad = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local body = body_template:gsub("KEY", nonce .. "-" .. tid .. "-" .. counter)
  if #ids > 0 then body = body:gsub("PAYMENT_ID", ids[(counter % #ids) + 1]) end
  return wrk.format(nil, "/graphql", nil, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors": ?%[{') then bad = bad + 1 end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  for _, thread in ipairs(threads) do errors = errors + (thread:get("bad") or 0) end
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99)))
end
