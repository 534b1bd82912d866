-- limit-pause: pauses a limiter on every instance. A back-off (a handler
-- threw FST_FIFO_RATE_LIMITED) pauses it until now + backoffMs, never
-- shortening a longer back-off or lifting an operator's pause; an operator
-- pauses it until resumed.
--
-- KEYS[1] lim      prefix of limiter hashes
-- KEYS[2] limiters SET of limiter names
--
-- ARGV[1] limiter name
-- ARGV[2] backoffMs, or '' for an operator pause (until resumed)
--
-- Returns the pause's end (ms), -1 when until resumed.
local rcall = redis.call
-- @include _clock
-- @include _limiter

local hashKey = KEYS[1] .. ARGV[1]
local now = nowMs()
rcall('SADD', KEYS[2], ARGV[1])
if ARGV[2] == '' then
  rcall('HSET', hashKey, 'pause', '-1:operator')
  rcall('PERSIST', hashKey)
  return -1
end
rcall('HINCRBY', hashKey, 'backoffs', 1)
local untilMs = now + tonumber(ARGV[2])
local current = parsePause(rcall('HGET', hashKey, 'pause'))
if current and (current < 0 or current >= untilMs) then return current end
rcall('HSET', hashKey, 'pause', untilMs .. ':backoff')
rcall('PEXPIRE', hashKey, math.max(LIMITER_TTL_MS, tonumber(ARGV[2]) + 60000))
return untilMs
