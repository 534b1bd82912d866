-- park: the claimer has no handler for its head. Releases the lease, takes
-- back the attempt the claim counted, and marks the queue missing-handler
-- until a sweep runs on an instance that has the handler.
--
-- KEYS[1] lease    HASH queue → token:number:owner
-- KEYS[2] held     ZSET queue → lease expiry
-- KEYS[3] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[4] parked   HASH queue → handler name its head needs
--
-- ARGV[1] queue
-- ARGV[2] token of the caller's lease
-- ARGV[3] handler name the head needs
--
-- Returns 1, or -1 when fenced (lease lost or expired; nothing changed).
local rcall = redis.call
-- @include _clock
-- @include _lease
-- @include _head

local queue = ARGV[1]
if not leaseValid(KEYS[1], KEYS[2], queue, ARGV[2], nowMs()) then return -1 end
unlease(KEYS[1], KEYS[2], queue)
local attempts, lastError = headState(rcall('HGET', KEYS[3], queue))
if attempts > 0 then rcall('HSET', KEYS[3], queue, headValue(attempts - 1, lastError)) end
rcall('HSET', KEYS[4], queue, ARGV[3])
return 1
