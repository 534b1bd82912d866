-- get-queue: one queue's row (see _row.lua), read atomically.
--
-- KEYS[1] qid      HASH queue → number
-- KEYS[2] q        prefix of the queue lists
-- KEYS[3] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[4] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[5] delayed  ZSET queue → retryAt
-- KEYS[6] parked   HASH queue → handler name
-- KEYS[7] halted   HASH queue → haltedAt
-- KEYS[8] paused   SET of paused queues
-- KEYS[9] queues   ZSET listing index (unused; keeps KEYS[10] where list-queues has it)
-- KEYS[10] throttled HASH queue → limiter name
--
-- ARGV[1] queue
--
-- Returns the row's 10 fields, or an empty list when the queue does not exist.
local rcall = redis.call
local K_QID, K_Q, K_HEADS, K_LEASE, K_DELAYED, K_PARKED, K_HALTED, K_PAUSED, K_THROTTLED =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[10]
-- @include _row

local out = {}
appendRow(out, ARGV[1])
return out
