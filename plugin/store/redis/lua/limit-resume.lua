-- limit-resume: ends a limiter's pause (an operator's or a back-off) and
-- hands the caller every queue enlisted while it waited, to wake.
--
-- KEYS[1] lim      prefix of limiter hashes
-- KEYS[2] limq     prefix of waiting queues
--
-- ARGV[1] limiter name
--
-- Returns the queues to wake.
local rcall = redis.call
-- @include _limiter

local hashKey = KEYS[1] .. ARGV[1]
rcall('HDEL', hashKey, 'pause')
if rcall('EXISTS', hashKey) == 1 then rcall('PEXPIRE', hashKey, LIMITER_TTL_MS) end
local waiting = rcall('ZRANGE', KEYS[2] .. ARGV[1], 0, 4999)
rcall('ZREMRANGEBYRANK', KEYS[2] .. ARGV[1], 0, 4999)
return waiting
