-- wrk report for the verify role: after the run, print one JSON line with the counts and the latency
-- distribution (percentiles). wrk measures; this only formats its summary (durations in microseconds).
-- With arguments `-- RATE CONNECTIONS THREADS`, each connection waits between its requests so that all of them together
-- offer about RATE requests a second (an open rate, for the resources phase), instead of as many as they can.
-- wrk asks delay() before every request, the first one of each connection too: those first ones are spread over
-- one pause instead, so that the connections neither start in one burst nor lose a pause of the run.
local points = {1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9}
local pause_ms = 0
local first_requests = 0

init = function(args)
  if #args >= 3 then
    pause_ms = tonumber(args[2]) * 1000 / tonumber(args[1])
    -- wrk runs this per thread; each thread runs its share of the connections.
    first_requests = math.ceil(tonumber(args[2]) / tonumber(args[3]))
  end
end

delay = function()
  if first_requests > 0 then
    first_requests = first_requests - 1
    return math.random() * pause_ms
  end
  return pause_ms
end

done = function(summary, latency, requests)
  local e = summary.errors
  local cells = {}
  for _, p in ipairs(points) do
    cells[#cells + 1] = string.format('"%g":%d', p, latency:percentile(p))
  end
  io.write(string.format(
    'VERIFY_WRK {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d},"percentiles_us":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(cells, ',')))
end
