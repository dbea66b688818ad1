-- wrk script: GET one range of RANGE_BYTES (default 64 KiB) at a random offset inside the file, per request.
--   wrk -t2 -c16 -d10s -s bench/random-range.lua URL -- FILE_SIZE [RANGE_BYTES [ALIGNED [EXPECT]]]
-- ALIGNED=1 (default) puts every range on a RANGE_BYTES boundary, 0 anywhere in the file (unaligned, as real
-- clients and the issue-17 comparison do). EXPECT (default 206) is the status every answer must have; for
-- 206 the body must also be exactly RANGE_BYTES (a bad-token run expects 404 or 403 and checks only the status).
-- Counts every response that is not as expected and prints one machine-readable line at the end:
--   BENCH requests=N bytes=N duration_us=N non206=N badlen=N connect=N read=N write=N status=N timeout=N
-- (wrk's own "status" error count only covers codes > 399; non206 counts every status but EXPECT.)

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
    table.insert(threads, thread)
end

function init(args)
    size = tonumber(args[1])
    span = tonumber(args[2] or "65536")
    if size == nil or size < span then
        error("usage: wrk ... -s random-range.lua URL -- FILE_SIZE [RANGE_BYTES]")
    end
    blocks = math.floor(size / span)
    aligned = (args[3] or "1") ~= "0"
    expect = tonumber(args[4] or "206")
    non206 = 0
    badlen = 0
    math.randomseed(os.time() * 1000 + id)
end

function request()
    local s
    if aligned then
        s = math.random(0, blocks - 1) * span
    else
        s = math.random(0, size - span)
    end
    return wrk.format("GET", nil, { ["Range"] = "bytes=" .. s .. "-" .. (s + span - 1) })
end

function response(status, headers, body)
    if status ~= expect then
        non206 = non206 + 1
    elseif expect == 206 and (body == nil or #body ~= span) then
        badlen = badlen + 1
    end
end

function done(summary, latency, requests)
    local n, b = 0, 0
    for _, t in ipairs(threads) do
        n = n + (t:get("non206") or 0)
        b = b + (t:get("badlen") or 0)
    end
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d bytes=%d duration_us=%d non206=%d badlen=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
        summary.requests, summary.bytes, summary.duration, n, b, e.connect, e.read, e.write, e.status, e.timeout))
end
