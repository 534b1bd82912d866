-- Include: queue numbers. A queue's list is {p}:q:<number>, its number given
-- on first use (kept apart from _queue so that enqueue's common path can do
-- without the rest of it, see enqueue.lua).
-- @include _base36

-- The number of `queue` (its list is {p}:q:<number>), given one on first use.
local function queueNumber (qidKey, qnameKey, qseqKey, queue)
  local num = rcall('HGET', qidKey, queue)
  if not num then
    num = base36(rcall('INCR', qseqKey))
    rcall('HSET', qidKey, queue, num)
    rcall('HSET', qnameKey, num, queue)
  end
  return num
end
