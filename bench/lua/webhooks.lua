-- wrk script: POST pre-signed Stripe events (one file line: signature TAB body), cycling.
local events = {}
for line in io.lines(os.getenv("BENCH_EVENTS")) do
  local signature, body = line:match("^([^\t]+)\t(.*)$")
  table.insert(events, {signature, body})
end
local threads = {}
local counter = 0
local bad = 0

function setup(thread)
  thread:set("offset", #threads * 100000)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local event = events[((offset + counter) % #events) + 1]
  return wrk.format("POST", "/webhooks/stripe",
    {["Content-Type"] = "application/json", ["Stripe-Signature"] = event[1]}, event[2])
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
