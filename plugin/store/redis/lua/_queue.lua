-- Include: task records and queue scheduling shared by the mutating scripts.
--
-- A task record is one element of its queue's list:
--   id \n name \n enqueuedAt \n requestId \n payload
-- (payload last: it is JSON and may be long; the other fields never hold a newline).
--
-- {p}:queues scores order the admin listing by urgency: a halted queue (not
-- paused) scores its haltedAt; any other queue 1e13 + its head's enqueuedAt;
-- a queue with no head (paused and empty) 3e13. Equal scores sort by name.

-- @include _base36

local HEAD_BASE = 10000000000000
local EMPTY_SCORE = 30000000000000
-- Wake-up tokens kept while nobody waits: a woken worker claims until nothing is left, so a few suffice.
local WAKE_CAP = 64

-- The task id on the record's first line, or nil when it is not one.
local function recordId (rec)
  local nl = string.find(rec, '\n', 1, true)
  if not nl then return nil end
  local id = string.sub(rec, 1, nl - 1)
  if string.find(id, '^[0-9a-z]+%-[0-9a-z]+$') then return id end
  return nil
end

-- The record's enqueuedAt (ms), or nil when it does not decode.
local function recordTime (rec)
  local a = string.find(rec, '\n', 1, true)
  local b = a and string.find(rec, '\n', a + 1, true)
  local c = b and string.find(rec, '\n', b + 1, true)
  -- Digits only: tonumber would also take 'nan', 'inf' and hex, which no score may be.
  local text = c and string.sub(rec, b + 1, c - 1)
  return text and string.match(text, '^%d+$') and tonumber(text)
end

-- The urgency score of a queue whose head is `rec` (a corrupt head sorts first: it needs a look).
local function headScore (rec)
  return HEAD_BASE + (recordTime(rec) or 0)
end

-- Pushes up to `n` wake-up tokens, keeping the list at most WAKE_CAP long.
-- In publish mode (WAKE_PUBLISH, set by the loader for several partitions)
-- one SPUBLISH per script call on the shard channel named `wakeKey` instead:
-- every subscribed instance hears it, so one message wakes them all.
local woken = false
local function signalWake (wakeKey, n)
  if WAKE_PUBLISH then
    if not woken then
      woken = true
      rcall('SPUBLISH', wakeKey, '1')
    end
    return
  end
  local room = WAKE_CAP - rcall('LLEN', wakeKey)
  if n > room then n = room end
  for _ = 1, n do rcall('RPUSH', wakeKey, '1') end
end

-- Lists a queue that just became waiting (at the front or back of the ready list) and wakes one worker.
local function makeWaiting (readyKey, wakeKey, name, front)
  rcall(front and 'LPUSH' or 'RPUSH', readyKey, name)
  signalWake(wakeKey, 1)
end

-- Forgets a queue that is empty and neither paused nor halted: its number and its listing entry.
local function dropQueue (qidKey, qnameKey, queuesKey, name, num)
  rcall('HDEL', qidKey, name)
  rcall('HDEL', qnameKey, num)
  rcall('ZREM', queuesKey, name)
end

-- After a head left its queue (completed or dead-lettered) and the lease is gone:
-- the queue is listed by its new head and waits again unless paused, stays
-- listed empty when paused, or is forgotten when empty.
local function relistAfterHead (queuesKey, readyKey, wakeKey, qidKey, qnameKey, queue, num, nextRec, paused)
  if nextRec then
    rcall('ZADD', queuesKey, headScore(nextRec), queue)
    if not paused then makeWaiting(readyKey, wakeKey, queue, false) end
  elseif paused then
    rcall('ZADD', queuesKey, EMPTY_SCORE, queue)
  else
    dropQueue(qidKey, qnameKey, queuesKey, queue, num)
  end
end

-- @include _queue-number
