-- limit-release: a head that held a running slot of a limiter settled (or
-- never started): its slot goes back, and the queue that has waited longest
-- for a slot is handed to the caller to wake (see wake-throttled.lua).
--
-- KEYS[1] limc     prefix of running slots
-- KEYS[2] limq     prefix of waiting queues
--
-- ARGV[1] limiter name
-- ARGV[2] holder: `queue\ntoken\ntaskId`
--
-- Returns the queues to wake (none or one).
local rcall = redis.call

local name = ARGV[1]
rcall('ZREM', KEYS[1] .. name, ARGV[2])
local popped = rcall('ZPOPMIN', KEYS[2] .. name)
if popped[1] then return {popped[1]} end
return {}
