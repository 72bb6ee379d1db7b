-- wrk report for the verify role: after the run, print one JSON line with the counts and the latency
-- distribution (percentiles). wrk measures; this only formats its summary (durations in microseconds).
local points = {1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9}

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
