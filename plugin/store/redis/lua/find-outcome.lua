-- find-outcome: what a wait for task `id`'s outcome (waitOutcome) can
-- expect: the kept outcome; else where the task is and whether it carries
-- the wait flag (`w=1` in the extras of its record's request-id field); else
-- nothing. Reads only; the waiter subscribed to the res channel before it
-- calls this, so an outcome stored after this read is still heard.
--
-- KEYS[1] res      prefix of outcome keys of waited tasks
-- KEYS[2] qname    HASH number → queue
-- KEYS[3] qid      HASH queue → number
-- KEYS[4] q        prefix of the queue lists
-- KEYS[5] moved    HASH id → queue, for requeued tasks
-- KEYS[6] deadrec  HASH id → dead letter entry
--
-- ARGV[1] task id
--
-- Returns {1, outcome} when one is kept; {2, queue, waited} for a queued
-- task and {3, queue, waited} for a dead letter (waited: 1 or 0); {0} when
-- the id is none of these.
local rcall = redis.call
-- @include _find

-- The request-id field is a record's 4th line (id, name, enqueuedAt, field, payload).
local function waited (rec)
  local a = string.find(rec, '\n', 1, true)
  local b = a and string.find(rec, '\n', a + 1, true)
  local c = b and string.find(rec, '\n', b + 1, true)
  local d = c and string.find(rec, '\n', c + 1, true)
  if not d then return 0 end
  local field = string.sub(rec, c + 1, d - 1) .. '\t'
  return string.find(field, '\tw=1\t', 1, true) and 1 or 0
end

local id = ARGV[1]
local kept = rcall('GET', KEYS[1] .. id)
if kept then return {1, kept} end
local queue, _, rec = findTask(KEYS[2], KEYS[3], KEYS[4], KEYS[5], id)
if queue then return {2, queue, waited(rec)} end
-- A dead letter: deadAt \n attempts \n queue \n reason \n lastError \n <record> (see _dead.lua).
local entry = rcall('HGET', KEYS[6], id)
if entry then
  local at, starts = 0, {}
  for i = 1, 5 do
    at = string.find(entry, '\n', at + 1, true)
    if not at then return {3, '', 0} end
    starts[i] = at
  end
  return {3, string.sub(entry, starts[2] + 1, starts[3] - 1), waited(string.sub(entry, starts[5] + 1))}
end
return {0}
