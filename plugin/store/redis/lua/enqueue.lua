-- enqueue: appends task records to the tails of their queues, in the order
-- given (one call carries every enqueue a process made in one turn of its
-- event loop; see redis-store.ts). A queue gets a
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
-- KEYS[12] lease   HASH queue → token:number:expiresAt:flags:owner
-- KEYS[13] token   counter of fencing tokens
-- KEYS[14] heads   HASH queue → attempts[\nlastError] of its head
-- KEYS[15] epoch   STRING <epoch>:<master replid> of the tokens (see _grant.lua)
-- KEYS[16] idle    ZSET <leaseMs>\t<owner> → until (ms): instances blocked for work (_handoff.lua)
-- KEYS[17] inbox   prefix of the inbox lists of idle instances
--
-- ARGV[1] owner: instance id that takes the lease of a queue its task made
--         runnable, for the tasks that ask for it ('' when none does)
-- ARGV[2] leaseMs: that lease's length (ms)
-- then 7 fields per task:
--   queue name
--   handler name (no newline)
--   payload: JSON text of the arguments array
--   requestId, '' for none (no newline)
--   dedupeId, '' for none
--   dedupeMs: how long the dedupe id is remembered (ms)
--   claim: '1' when `owner` has a slot for this task, else ''
--
-- Returns one reply per task, in order: the id (a string) when the task was
-- added and waits; {1, id, queue, name} of the earlier task on a dedupe hit; {2, id,
-- token, leaseExpiresAt, attempt, lastError or false, enqueuedAt} when the
-- task made its queue runnable and `owner` got the lease on it (claim on
-- enqueue: the queue never enters the ready list and no worker is woken, so a
-- task enqueued on an idle instance starts one round trip later). A queue made
-- runnable otherwise goes to an idle instance's inbox when one is listed
-- (handoff, _handoff.lua), else to the ready list with a wake-up token.
local rcall = redis.call
-- @include _clock
-- @include _base36
-- @include _queue-number

local now = nowMs()
-- The time as text once per call, not per record: Lua's number to string
-- conversion (sprintf) costs ~0.4 µs, half an RPUSH.
local nowText = tostring(now)
local owner = ARGV[1]
local ownerOffer = ARGV[2] .. '\t' .. owner
local offerTaken = false
local added = 0
-- Task numbers: one INCRBY per call, for every task it carries (a dedupe hit
-- leaves its number unused: ids only have to grow, and gaps are harmless).
local perCall = (#ARGV - 2) / 7
local taskNumber = perCall > 0 and (rcall('INCRBY', KEYS[4], perCall) - perCall) or 0
local replies = {}

-- The id of task number `n` in queue `num`: base36(n), with all but its last
-- digit converted once per 36 numbers (the numbers of one call are consecutive).
local idHigh, idHighText = -1, ''
local function taskId (num, n)
  local d = n % 36
  local high = (n - d) / 36
  if high ~= idHigh then
    idHigh = high
    idHighText = high > 0 and base36(high) or ''
  end
  return num .. '-' .. idHighText .. string.sub(BASE36_DIGITS, d + 1, d + 1)
end

-- A queue that was empty and just got its first task: listed, and unless
-- paused, claimed by `owner` (claim on enqueue), handed to an idle instance,
-- or made waiting. Returns the claim reply, or nil. Built on first use: most
-- tasks join a queue that already has some, and Lua makes a closure for every
-- function a script defines on every call (~2 µs for the ~20 these includes
-- define, ~0.3 µs for the few the common path needs).
local function startedQueue ()
-- @include _queue
-- @include _grant
-- @include _handoff
  return function (queue, num, id, rec, claim)
    rcall('ZADD', KEYS[6], HEAD_BASE + now, queue)
    if rcall('SISMEMBER', KEYS[7], queue) == 1 then return nil end
    if claim == '1' and owner ~= '' and rcall('HEXISTS', KEYS[12], queue) == 0 then
      local token, expiresAt, attempt, lastError = grantLease(KEYS[12], KEYS[13], KEYS[15], KEYS[14], queue, num, owner, ARGV[2])
      -- Its own offer ends: its slots may now be full.
      if not offerTaken then
        offerTaken = true
        rcall('ZREM', KEYS[16], ownerOffer)
      end
      return {2, id, token, expiresAt, attempt, lastError, now}
    end
    if not handOff(KEYS[16], KEYS[17], KEYS[12], KEYS[13], KEYS[15], KEYS[14], queue, num, rec, nowText) then
      makeWaiting(KEYS[8], KEYS[9], queue, false)
    end
    return nil
  end
end
local queueStarted = nil

local function enqueueOne (queue, name, payload, requestId, dedupeId, dedupeMs, claim)
  local dedupeKey = nil
  if dedupeId ~= '' then
    dedupeKey = KEYS[11] .. dedupeId
    local hit = rcall('GET', dedupeKey)
    local a = hit and string.find(hit, '\n', 1, true)
    local b = a and string.find(hit, '\n', a + 1, true)
    if b then return {1, string.sub(hit, 1, a - 1), string.sub(hit, a + 1, b - 1), string.sub(hit, b + 1)} end
  end
  local num = queueNumber(KEYS[1], KEYS[2], KEYS[3], queue)
  taskNumber = taskNumber + 1
  local id = taskId(num, taskNumber)
  local reply = id
  added = added + 1
  local rec = id .. '\n' .. name .. '\n' .. nowText .. '\n' .. requestId .. '\n' .. payload
  if rcall('RPUSH', KEYS[5] .. num, rec) == 1 then
    queueStarted = queueStarted or startedQueue()
    reply = queueStarted(queue, num, id, rec, claim) or id
  end
  if dedupeKey then rcall('SET', dedupeKey, id .. '\n' .. queue .. '\n' .. name, 'PX', dedupeMs) end
  return reply
end

for i = 3, #ARGV, 7 do
  replies[#replies + 1] = enqueueOne(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6])
end
if added > 0 then rcall('INCRBY', KEYS[10], added) end
return replies
