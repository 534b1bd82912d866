-- heartbeat: records an instance as alive and extends each listed lease that
-- is still valid (current token, not expired). One call per heartbeat.
--
-- KEYS[1] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[2] inst     HASH instance id → lastHeartbeatAt \n InstanceInfo JSON
-- KEYS[3] beat     ZSET instance id → when its record expires
--
-- ARGV[1] instance id
-- ARGV[2] InstanceInfo as JSON
-- ARGV[3] leaseMs: new lease length (ms); the record lives 3 × leaseMs
-- ARGV[4..] pairs: queue, token of each lease the instance believes it holds
--
-- Returns the queues whose lease was lost (fenced or expired).
local rcall = redis.call
-- @include _clock
-- @include _lease

local now = nowMs()
local leaseMs = tonumber(ARGV[3])
rcall('HSET', KEYS[2], ARGV[1], now .. '\n' .. ARGV[2])
rcall('ZADD', KEYS[3], now + 3 * leaseMs, ARGV[1])
local lost = {}
for i = 4, #ARGV, 2 do
  local queue, token = ARGV[i], ARGV[i + 1]
  local num, flags, owner = validLease(KEYS[1], queue, token, now)
  if num then
    rcall('HSET', KEYS[1], queue, leaseValue(token, num, now + leaseMs, flags, owner))
  else
    lost[#lost + 1] = queue
  end
end
return lost
