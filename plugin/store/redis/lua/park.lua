-- park: the claimer has no handler for its head. Releases the lease, takes
-- back the attempt the claim counted, and marks the queue missing-handler
-- until a sweep runs on an instance that has the handler.
--
-- KEYS[1] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[2] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[3] parked   HASH queue → handler name its head needs
-- KEYS[4] q        prefix of the queue lists
-- KEYS[5] queues   ZSET listing index
--
-- ARGV[1] queue
-- ARGV[2] token of the caller's lease
-- ARGV[3] handler name the head needs
--
-- Returns 1, or -1 when fenced (lease lost or expired; nothing changed).
local rcall = redis.call
-- @include _clock
-- @include _queue
-- @include _lease
-- @include _head

local queue = ARGV[1]
local num = validLease(KEYS[1], queue, ARGV[2], nowMs())
if not num then return -1 end
rcall('HDEL', KEYS[1], queue)
local attempts, lastError = headState(rcall('HGET', KEYS[2], queue))
if attempts > 0 then rcall('HSET', KEYS[2], queue, headValue(attempts - 1, lastError)) end
rcall('HSET', KEYS[3], queue, ARGV[3])
local head = rcall('LINDEX', KEYS[4] .. num, 0)
if head then rcall('ZADD', KEYS[5], headScore(head), queue) end
return 1
