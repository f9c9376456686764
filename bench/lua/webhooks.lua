-- wrk script: POST pre-signed webhook events to BENCH_PATH, cycling. A line of BENCH_EVENTS
-- is "Name: value|Name: value TAB body": the signature headers, then the signed body.
local path = os.getenv("BENCH_PATH") or "/webhooks/stripe"
-- Where this run starts in the file: past what an earlier run (the warm-up) sent.
local first = tonumber(os.getenv("BENCH_FIRST") or "0")
local events = {}
for line in io.lines(os.getenv("BENCH_EVENTS")) do
  local signed, body = line:match("^([^\t]+)\t(.*)$")
  local headers = {["Content-Type"] = "application/json"}
  for name, value in signed:gmatch("([^|:]+): ([^|]+)") do headers[name] = value end
  table.insert(events, {headers, body})
end
local threads = {}
local counter = 0
local bad = 0

function setup(thread)
  -- Each thread its half of the file, so the two send no event twice.
  thread:set("offset", first + #threads * math.floor(#events / 2))
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local event = events[((offset + counter) % #events) + 1]
  return wrk.format("POST", path, event[1], event[2])
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  for _, thread in ipairs(threads) do errors = errors + (thread:get("bad") or 0) end
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99)))
end
