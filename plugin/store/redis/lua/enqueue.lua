-- enqueue: appends a task record to the tail of its queue. A queue gets a
-- number on first use (ids are `<queue number>-<task number>`, base 36, so an
-- id says which list holds it). When the queue was empty and is not paused it
-- becomes waiting: it joins the back of the ready list and one wake-up token
-- is pushed. With a dedupe id that is still remembered, nothing is added and
-- the earlier task is returned.
--
-- Memory: the record lives inside the queue's list (listpack-encoded), no
-- per-task key or hash entry. Measured by test/store/redis-memory.test.ts,
-- 10,000 pending tasks in one queue, handler `reserve`, payload
-- `[{"orderId":"o-<i>","qty":<i>,"note":"<64 chars>"}]` (~105 bytes):
-- 139 bytes of used_memory per task (BullMQ: 697); 142 over 100 queues × 100
-- tasks. A queue costs ~510 bytes of its own (list key, number, index and
-- ready entries), so 10,000 queues × 1 task measure 648 bytes per task.
--
-- KEYS[1] qid      HASH queue → number
-- KEYS[2] qname    HASH number → queue
-- KEYS[3] qseq     counter of queue numbers
-- KEYS[4] tseq     counter of task numbers
-- KEYS[5] q        prefix of the queue lists
-- KEYS[6] queues   ZSET listing index
-- KEYS[7] paused   SET of paused queues
-- KEYS[8] ready    LIST of waiting queues
-- KEYS[9] wake     LIST of wake-up tokens
-- KEYS[10] pending counter of pending tasks
-- KEYS[11] dd      prefix of the dedupe markers
--
-- ARGV[1] queue name
-- ARGV[2] handler name (no newline)
-- ARGV[3] payload: JSON text of the arguments array
-- ARGV[4] requestId, '' for none (no newline)
-- ARGV[5] dedupeId, '' for none
-- ARGV[6] dedupeMs: how long the dedupe id is remembered (ms)
--
-- Returns {0, id} when the task was added; {1, id, queue, name} of the earlier
-- task on a dedupe hit.
local rcall = redis.call
-- @include _clock
-- @include _base36
-- @include _queue

local queue = ARGV[1]
local dedupeKey = nil
if ARGV[5] ~= '' then
  dedupeKey = KEYS[11] .. ARGV[5]
  local hit = rcall('GET', dedupeKey)
  local a = hit and string.find(hit, '\n', 1, true)
  local b = a and string.find(hit, '\n', a + 1, true)
  if b then return {1, string.sub(hit, 1, a - 1), string.sub(hit, a + 1, b - 1), string.sub(hit, b + 1)} end
end

local num = rcall('HGET', KEYS[1], queue)
if not num then
  num = base36(rcall('INCR', KEYS[3]))
  rcall('HSET', KEYS[1], queue, num)
  rcall('HSET', KEYS[2], num, queue)
end
local id = num .. '-' .. base36(rcall('INCR', KEYS[4]))
local now = nowMs()
if rcall('RPUSH', KEYS[5] .. num, id .. '\n' .. ARGV[2] .. '\n' .. now .. '\n' .. ARGV[4] .. '\n' .. ARGV[3]) == 1 then
  rcall('ZADD', KEYS[6], HEAD_BASE + now, queue)
  if rcall('SISMEMBER', KEYS[7], queue) == 0 then makeWaiting(KEYS[8], KEYS[9], queue, false) end
end
rcall('INCR', KEYS[10])
if dedupeKey then rcall('SET', dedupeKey, id .. '\n' .. queue .. '\n' .. ARGV[2], 'PX', ARGV[6]) end
return {0, id}
