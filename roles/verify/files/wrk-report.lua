-- wrk report for the verify role: after the run, print one JSON line with the counts and the latency
-- distribution (percentiles). wrk measures; this only formats its summary (durations in microseconds).
-- With arguments `-- RATE CONNECTIONS THREADS`, the requests are paced to about RATE a second in all (an open rate,
-- for the resources phase) instead of as many as the connections can send. Each thread keeps a schedule of send
-- times, one every THREADS / RATE seconds (LuaJIT's ffi reads the monotonic clock), and delay() holds the
-- connection that asks until the next free slot: the pace does not depend on how long the answers take, which a
-- fixed pause per connection did (10 connections pausing 10 ms offered 870 of 1000 req/s when answers took 1.5 ms).
-- A schedule fallen behind (every connection busy) catches up by at most one slot per connection.
local points = {1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9}
local interval_ms = 0
local slack_ms = 0
local next_ms = nil

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } iac_verify_timespec;
int clock_gettime(int clk_id, iac_verify_timespec *tp);
]]
local clock = ffi.new("iac_verify_timespec")
local CLOCK_MONOTONIC = 1

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

init = function(args)
  if #args >= 3 then
    -- wrk runs this per thread; each thread offers its share of the rate over its share of the connections.
    local rate, connections, threads = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
    interval_ms = 1000 * threads / rate
    slack_ms = interval_ms * math.ceil(connections / threads)
  end
end

delay = function()
  if interval_ms == 0 then
    return 0
  end
  local now = now_ms()
  if next_ms == nil then
    -- The first requests of the thread's connections are spread over one round of slots, not sent in one burst.
    next_ms = now + math.random() * interval_ms
  elseif next_ms < now - slack_ms then
    next_ms = now - slack_ms
  end
  local wait = next_ms - now
  next_ms = next_ms + interval_ms
  if wait < 0 then
    return 0
  end
  return wait
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
