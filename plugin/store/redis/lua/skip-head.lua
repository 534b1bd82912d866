-- skip-head: an operator moves a queue's head to the dead letters and lets
-- the queue go on (its halt, retry or missing-handler mark goes with the
-- head). Refused while the head runs, and for an empty queue.
--
-- KEYS[1] qid      HASH queue → number
-- KEYS[2] qname    HASH number → queue
-- KEYS[3] q        prefix of the queue lists
-- KEYS[4] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[5] paused   SET of paused queues
-- KEYS[6] halted   HASH queue → haltedAt
-- KEYS[7] delayed  ZSET queue → retryAt
-- KEYS[8] parked   HASH queue → handler name
-- KEYS[9] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[10] queues  ZSET listing index
-- KEYS[11] ready   LIST of waiting queues
-- KEYS[12] wake    LIST of wake-up tokens
-- KEYS[13] pending counter of pending tasks
-- KEYS[14] moved   HASH id → queue, for requeued tasks
-- KEYS[15] dead    LIST of dead letter ids, newest first
-- KEYS[16] deadrec HASH id → dead letter entry
-- KEYS[17] tseq    counter of task numbers (ids for corrupt records)
-- KEYS[18] throttled HASH queue → limiter name
-- KEYS[19] res     prefix of outcome keys of waited tasks; also their pub/sub channel
--
-- ARGV[1] queue
-- ARGV[2] reason, shown with the dead letter
-- ARGV[3] deadLetterLimit: dead letters kept
--
-- A head someone waits on (`w=1` in the extras of its request-id field, found
-- by a plain search: a TAB can only be a field separator there) gets the
-- outcome `d\n<queue>\nskipped by an operator: <reason>` (see fail.lua).
--
-- Returns {0, id, dead letter entry}; {-2} when the queue does not exist;
-- {-4} while its head runs; {-5} when it is empty.
local rcall = redis.call
-- @include _clock
-- @include _base36
-- @include _queue
-- @include _dead
-- @include _head

local queue = ARGV[1]
local num = rcall('HGET', KEYS[1], queue)
if not num then return {-2} end
if rcall('HEXISTS', KEYS[4], queue) == 1 then return {-4} end
local listKey = KEYS[3] .. num
local rec = rcall('LPOP', listKey)
if not rec then return {-5} end

local paused = rcall('SISMEMBER', KEYS[5], queue) == 1
-- The halt, retry, throttle or missing-handler mark belonged to the head; without one an unpaused queue was waiting.
local marks = rcall('HDEL', KEYS[6], queue) + rcall('ZREM', KEYS[7], queue) + rcall('HDEL', KEYS[8], queue)
rcall('HDEL', KEYS[18], queue)
local wasWaiting = not paused and marks == 0
local attempts, lastError = headState(rcall('HGET', KEYS[9], queue))
rcall('HDEL', KEYS[9], queue)
rcall('DECR', KEYS[13])

local id = recordId(rec)
if id and string.sub(id, 1, #num + 1) ~= num .. '-' then rcall('HDEL', KEYS[14], id) end
id = id or (num .. '-x' .. base36(rcall('INCR', KEYS[17])))
local entry = bury(KEYS[15], KEYS[16], id, queue, rec, attempts, ARGV[2], lastError, nowMs(), tonumber(ARGV[3]))

if string.find(rec, '\tw=1\t', 1, true) or string.find(rec, '\tw=1\n', 1, true) then
  local text = 'd\n' .. queue .. '\nskipped by an operator: ' .. ARGV[2]
  rcall('SET', KEYS[19] .. id, text, 'PX', 300000)
  rcall('SPUBLISH', KEYS[19], id .. '\n' .. text)
end

local nextRec = rcall('LINDEX', listKey, 0)
if nextRec then
  rcall('ZADD', KEYS[10], headScore(nextRec), queue)
  if not wasWaiting and not paused then makeWaiting(KEYS[11], KEYS[12], queue, false) end
else
  if wasWaiting then rcall('LREM', KEYS[11], 1, queue) end
  if paused then rcall('ZADD', KEYS[10], EMPTY_SCORE, queue) else dropQueue(KEYS[1], KEYS[2], KEYS[10], queue, num) end
end
return {0, id, entry}
