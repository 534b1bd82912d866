-- list-instances: live instances (record not expired) with the number of
-- queues each holds by the lease index.
--
-- KEYS[1] beat     ZSET instance id → when its record expires
-- KEYS[2] inst     HASH instance id → lastHeartbeatAt \n InstanceInfo JSON
-- KEYS[3] lease    HASH queue → token:number:expiresAt:flags:owner
--
-- Returns {id, record|nil, queuesHeld, id, record|nil, queuesHeld, ...}.
local rcall = redis.call
-- @include _clock

local ids = rcall('ZRANGEBYSCORE', KEYS[1], '(' .. nowMs(), '+inf')
local out = {}
if #ids == 0 then return out end
local held = {}
local leases = rcall('HVALS', KEYS[3])
for i = 1, #leases do
  local owner = string.match(leases[i], '^[^:]*:[^:]*:[^:]*:[^:]*:(.*)$')
  if owner then held[owner] = (held[owner] or 0) + 1 end
end
local recs = rcall('HMGET', KEYS[2], unpack(ids))
for i = 1, #ids do
  out[3 * i - 2] = ids[i]
  out[3 * i - 1] = recs[i]
  out[3 * i] = held[ids[i]] or 0
end
return out
