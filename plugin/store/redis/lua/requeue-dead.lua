-- requeue-dead: appends a dead letter to the tail of its queue again (same id,
-- attempts reset) and removes it from the dead letters. When the queue no
-- longer has the number in the id (it was emptied and forgotten since), the
-- task is noted in {p}:moved so it can still be found by id.
--
-- KEYS[1] deadrec  HASH id → dead letter entry
-- KEYS[2] dead     LIST of dead letter ids, newest first
-- KEYS[3] qid      HASH queue → number
-- KEYS[4] qname    HASH number → queue
-- KEYS[5] qseq     counter of queue numbers
-- KEYS[6] q        prefix of the queue lists
-- KEYS[7] queues   ZSET listing index
-- KEYS[8] paused   SET of paused queues
-- KEYS[9] ready    LIST of waiting queues
-- KEYS[10] wake    LIST of wake-up tokens
-- KEYS[11] pending counter of pending tasks
-- KEYS[12] moved   HASH id → queue, for requeued tasks
-- KEYS[13] res     prefix of outcome keys of waited tasks
--
-- The task runs again, so the dead-lettering kept as its outcome (if someone
-- waited on it) is dropped: a wait on it now waits for the new run.
-- ARGV[1] dead letter id
--
-- Returns {0, id, queue, name}; {-3} when there is no such dead letter; {-7}
-- when its entry or record is corrupt (it stays a dead letter).
local rcall = redis.call
-- @include _base36
-- @include _queue

local id = ARGV[1]
local entry = rcall('HGET', KEYS[1], id)
if not entry then return {-3} end
local cut = {}
local at = 0
for i = 1, 5 do
  at = string.find(entry, '\n', at + 1, true)
  if not at then return {-7} end
  cut[i] = at
end
local queue = string.sub(entry, cut[2] + 1, cut[3] - 1)
local rec = string.sub(entry, cut[5] + 1)
if queue == '' or recordId(rec) ~= id or not recordTime(rec) then return {-7} end
local nameEnd = string.find(rec, '\n', #id + 2, true)
local name = string.sub(rec, #id + 2, nameEnd - 1)

local num = queueNumber(KEYS[3], KEYS[4], KEYS[5], queue)
if string.sub(id, 1, #num + 1) ~= num .. '-' then rcall('HSET', KEYS[12], id, queue) end
rcall('HDEL', KEYS[1], id)
rcall('LREM', KEYS[2], 1, id)
rcall('DEL', KEYS[13] .. id)
rcall('INCR', KEYS[11])
if rcall('RPUSH', KEYS[6] .. num, rec) == 1 then
  rcall('ZADD', KEYS[7], headScore(rec), queue)
  if rcall('SISMEMBER', KEYS[8], queue) == 0 then makeWaiting(KEYS[9], KEYS[10], queue, false) end
end
return {0, id, queue, name}
