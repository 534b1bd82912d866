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
local id = ARGV[1]
local marker = id .. '\n'

local function find (queue, num)
  local listKey = KEYS[3] .. num
  local len = rcall('LLEN', listKey)
  for from = 0, len - 1, 1000 do
    local recs = rcall('LRANGE', listKey, from, from + 999)
    for i = 1, #recs do
      if string.sub(recs[i], 1, #marker) == marker then
        local pos = from + i - 1
        if pos == 0 then return {1, queue, 0, recs[i], rcall('HGET', KEYS[5], queue)} end
        return {1, queue, pos, recs[i]}
      end
    end
  end
  return nil
end

local num = string.match(id, '^([0-9a-z]+)%-[0-9a-z]+$')
local queue = num and rcall('HGET', KEYS[1], num)
local found = queue and find(queue, num)
if found then return found end
local movedTo = num and rcall('HGET', KEYS[4], id)
local movedNum = movedTo and rcall('HGET', KEYS[2], movedTo)
found = movedNum and find(movedTo, movedNum)
if found then return found end
local entry = rcall('HGET', KEYS[6], id)
if entry then return {2, entry} end
return {0}
