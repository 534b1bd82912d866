-- remove-instance: forgets an instance's record at once (graceful shutdown).
--
-- KEYS[1] inst     HASH instance id → record
-- KEYS[2] beat     ZSET instance id → when its record expires
--
-- ARGV[1] instance id
--
-- Returns 1.
local rcall = redis.call
rcall('HDEL', KEYS[1], ARGV[1])
rcall('ZREM', KEYS[2], ARGV[1])
return 1
