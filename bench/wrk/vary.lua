-- wrk script: GET BENCH_PATH with a random id in [0, BENCH_IDS), at most BENCH_REQUESTS
-- responses per thread, then stop; prints the run as one JSON line.
local template = os.getenv("BENCH_PATH") or "/projects/bench-%06d"
local ids = tonumber(os.getenv("BENCH_IDS") or "1000")
local limit = tonumber(os.getenv("BENCH_REQUESTS") or "100000")
local seen = 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  return wrk.format("GET", string.format(template, math.random(0, ids - 1)))
end

function response(status, headers, body)
  seen = seen + 1
  if seen >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.timeout, latency:percentile(50), latency:percentile(99),
    latency.max))
end
