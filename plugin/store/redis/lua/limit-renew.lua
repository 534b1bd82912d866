-- limit-renew: with the heartbeat, extends the running slots an instance
-- holds, so a slot lives as long as the lease of the head that holds it. A
-- slot already gone (expired: its holder was presumed dead) is not brought back.
--
-- KEYS[1] limc     prefix of running slots
--
-- ARGV[1] slotMs: new lifetime (ms)
-- ARGV[2..] pairs: limiter name, holder `queue\ntoken\ntaskId`
--
-- Returns the number of slots extended.
local rcall = redis.call
-- @include _clock

local expiresAt = nowMs() + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV, 2 do
  renewed = renewed + rcall('ZADD', KEYS[1] .. ARGV[i], 'XX', 'CH', expiresAt, ARGV[i + 1])
end
return renewed
