-- wrk report for the verify role: after the run, print one JSON line with the counts and latency percentiles.
-- wrk measures; this only formats its summary (durations in microseconds).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'VERIFY_WRK {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99)))
end
