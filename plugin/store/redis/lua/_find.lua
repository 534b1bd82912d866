-- Include: finds a pending task by id, in the queue its id names (ids are
-- `<queue number>-<task number>`) or, for a requeued task, the queue the
-- moved hash names. Walks the queue's list in pages of 1000.

-- queue, position (0 = head) and record of task `id`, or nil.
local function findTask (qnameKey, qidKey, qPrefix, movedKey, id)
  local marker = id .. '\n'
  local function scan (queue, num)
    local listKey = qPrefix .. num
    local len = rcall('LLEN', listKey)
    for from = 0, len - 1, 1000 do
      local recs = rcall('LRANGE', listKey, from, from + 999)
      for i = 1, #recs do
        if string.sub(recs[i], 1, #marker) == marker then return queue, from + i - 1, recs[i] end
      end
    end
    return nil
  end
  local num = string.match(id, '^([0-9a-z]+)%-[0-9a-z]+$')
  local queue = num and rcall('HGET', qnameKey, num)
  if queue then
    local q, pos, rec = scan(queue, num)
    if q then return q, pos, rec end
  end
  local movedTo = num and rcall('HGET', movedKey, id)
  local movedNum = movedTo and rcall('HGET', qidKey, movedTo)
  if movedNum then return scan(movedTo, movedNum) end
  return nil
end
