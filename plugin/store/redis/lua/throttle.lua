-- throttle: the lease holder's head did not start because its limiter gave
-- no token, or it backed off (its handler threw FST_FIFO_RATE_LIMITED).
-- Checks the lease, releases it, takes back the attempt the claim counted
-- (the head waits at its place, no attempt used), and makes the queue
-- throttled until `until`: it sits in {p}:delayed like a retrying queue, and
-- {p}:throttled says it waits for a limiter. Sweep, or a precise wake-up
-- (wake-throttled.lua), makes it waiting again.
--
-- A back-off is counted per head in {p}:backoffs; past maxBackoffs nothing
-- changes and the caller records a normal failure instead, so a handler that
-- always backs off cannot hold its queue forever without using attempts.
--
-- A queue in {p}:nudged was woken while still held (its slot freed between
-- the refusal and this call): it goes straight back to waiting.
--
-- KEYS[1] lease     HASH queue → token:number:expiresAt:flags:owner
-- KEYS[2] heads     HASH queue → attempts[\nlastError] of its head
-- KEYS[3] delayed   ZSET queue → retryAt / throttled until
-- KEYS[4] throttled HASH queue → limiter name
-- KEYS[5] backoffs  HASH queue → taskId\tcount\tlast ms
-- KEYS[6] nudged    SET of queues woken while held
-- KEYS[7] q         prefix of the queue lists
-- KEYS[8] queues    ZSET listing index
-- KEYS[9] ready     LIST of waiting queues
-- KEYS[10] wake     LIST of wake-up tokens
--
-- ARGV[1] queue
-- ARGV[2] token of the caller's lease
-- ARGV[3] afterMs: how long from now until it may try again (ms)
-- ARGV[4] limiter name, '' for none
-- ARGV[5] backoff: '1' for a handler's back-off, '0' for a refused token
-- ARGV[6] maxBackoffs per head
-- ARGV[7] taskId of the head
--
-- Returns {-1} when fenced, {-8, count} when the back-off is over the cap
-- (nothing changed), {1, until, now} when throttled, {2, now} when it went
-- straight back to waiting.
local rcall = redis.call
-- @include _clock
-- @include _queue
-- @include _lease
-- @include _head

local queue, token = ARGV[1], ARGV[2]
local now = nowMs()
local num, flags = validLease(KEYS[1], queue, token, now)
if not num then return {-1} end
if ARGV[5] == '1' then
  local count = 0
  local v = rcall('HGET', KEYS[5], queue)
  if v then
    local id, n = string.match(v, '^([^\t]*)\t(%d+)\t')
    if id == ARGV[7] then count = tonumber(n) end
  end
  if count >= tonumber(ARGV[6]) then return {-8, count} end
  rcall('HSET', KEYS[5], queue, ARGV[7] .. '\t' .. (count + 1) .. '\t' .. now)
end
rcall('HDEL', KEYS[1], queue)
local attempts, lastError = headState(rcall('HGET', KEYS[2], queue))
if attempts > 0 then rcall('HSET', KEYS[2], queue, headValue(attempts - 1, lastError)) end
local head = rcall('LINDEX', KEYS[7] .. num, 0)
if head then rcall('ZADD', KEYS[8], headScore(head), queue) end
local paused = flags == 'p'
if rcall('SREM', KEYS[6], queue) == 1 and ARGV[5] ~= '1' then
  if not paused then makeWaiting(KEYS[9], KEYS[10], queue, false) end
  return {2, now}
end
local untilMs = now + math.max(0, tonumber(ARGV[3]))
rcall('ZADD', KEYS[3], untilMs, queue)
rcall('HSET', KEYS[4], queue, ARGV[4])
return {1, untilMs, now}
