-- get-task: finds a task by id: in the queue its id names (or, for a
-- requeued task, the queue {p}:moved names), else in the dead letters.
-- Walks the queue's list in pages of 1000 until it finds the id.
--
-- KEYS[1] qname    HASH number → queue
-- KEYS[2] qid      HASH queue → number
-- KEYS[3] q        prefix of the queue lists
-- KEYS[4] moved    HASH id → queue, for requeued tasks
-- KEYS[5] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[6] deadrec  HASH id → dead letter entry
--
-- ARGV[1] task id
--
-- Returns {1, queue, position, record, head attempts[\nlastError]|nil}
-- for a pending task; {2, dead letter entry}; {0} when not found.
local rcall = redis.call
-- @include _find

local id = ARGV[1]
local queue, pos, rec = findTask(KEYS[1], KEYS[2], KEYS[3], KEYS[4], id)
if queue then
  if pos == 0 then return {1, queue, 0, rec, rcall('HGET', KEYS[5], queue)} end
  return {1, queue, pos, rec}
end
local entry = rcall('HGET', KEYS[6], id)
if entry then return {2, entry} end
return {0}
