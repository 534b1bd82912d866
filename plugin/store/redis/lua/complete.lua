-- complete: lease holders' heads succeeded, one or more completions in one
-- call (each handled exactly as if it were its own call, in the order given).
-- For each: checks the lease, removes the head and counts it. With `keep`,
-- when the queue has another task and is not paused, the lease is renewed
-- (same token) and the next head is returned with its first attempt counted:
-- one round trip per task. Otherwise the lease is released and the queue
-- goes to the back of the ready list (fairness) when it still has tasks and
-- is not paused, or is forgotten when it is empty.
--
-- The kept path is 7 Redis calls: each call costs a script ~2 µs beyond its
-- own work, which is most of a script's time. So the paused flag and expiry
-- live in the lease field, the `1` flag there says the next head's attempt
-- count is already written (see _lease.lua), and a running queue's listing
-- score is refreshed by its readers (_refresh.lua), not here.
--
-- Several completions per call: a worker process running many queues ends
-- many heads in one turn of its event loop; the store sends the completions
-- made while one is on the wire as one call (complete-batch.ts), as enqueue
-- does. The completions are independent (one per held queue, each fenced by
-- its own token); one call only runs them back to back. Measured in the
-- saturate bench (1,000 queues, 2 worker processes × 16 slots, 2026-12-02,
-- paired rounds): script calls per task 1.60 → 0.99, Redis CPU per task
-- 0.97× (within the rounds' spread), Node CPU 0.93×: Redis already read a
-- connection's commands of one turn together and wrote their replies
-- together, so what a task costs it is mostly the work inside the scripts.
--
-- KEYS[1] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[2] q        prefix of the queue lists
-- KEYS[3] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[4] queues   ZSET listing index
-- KEYS[5] ready    LIST of waiting queues
-- KEYS[6] wake     LIST of wake-up tokens
-- KEYS[7] stats    HASH of 10 s buckets
-- KEYS[8] pending  counter of pending tasks
-- KEYS[9] qid      HASH queue → number
-- KEYS[10] qname   HASH number → queue
-- KEYS[11] moved   HASH id → queue, for requeued tasks
-- KEYS[12] res     prefix of outcome keys of waited tasks; also their pub/sub channel
-- KEYS[13] token   counter of fencing tokens (claimNext)
-- KEYS[14] epoch   STRING <epoch>:<master replid> of the tokens (claimNext, see _grant.lua)
--
-- ARGV: 9 fields per completion:
--   queue
--   token of the caller's lease
--   owner: instance id of the caller
--   leaseMs: length of the renewed lease (ms)
--   keep: '1' to go on with the next head, '0' to release
--   taskId: the head the caller ran. When the head is another task under
--     a still-valid lease, an earlier call already completed it and only
--     its reply was lost: nothing is removed again (retry-safe).
--   lookahead: with keep, how many records after the next head to return as
--     well (pipelined acks, an opt-in worker mode); '0': none
--   outcome: only for a task someone waits on (wait flag in its extras): the
--     outcome text, kept at res:<taskId> for 5 minutes and SPUBLISHed as
--     `<taskId>\n<outcome>` on the res channel. '': nothing more is done.
--   claimNext: '1' when the caller has room for another queue: if this
--     completion releases the lease (the queue is empty, paused, or its
--     burst is spent), the first waiting queue is claimed for the caller in
--     the same call, exactly as `claim` would (see _claim.lua), which saves
--     the claim's round trip and its call. '': never.
--
-- Returns one reply per completion, in order: {-1} when fenced (lease lost or
-- expired; nothing changed), {0} when the lease was released, {2, queue,
-- record, attempt, token, leaseExpiresAt, lastError or nil} when it was released
-- and claimNext took another queue (claim's reply after the 2), or {1, record,
-- leaseExpiresAt (ms)} for the next head (attempt 1, no last error, same
-- token), followed with a lookahead by {false, false, record…} of the tasks
-- behind it (not started, nothing counted); a retried call returns {1,
-- record, leaseExpiresAt, attempt, lastError or nil} for the head it had
-- already handed out.
local rcall = redis.call
-- @include _clock
-- @include _queue
-- @include _lease
-- @include _head
-- @include _claim

local now = nowMs()
-- Completions counted once per call (pending and the 10 s stats bucket), not once per completion.
local completed = 0

-- The lease was released: with claimNext, the first waiting queue is the caller's now.
-- With a lookahead, the claimed head comes with the records behind it, as claim's does.
local function released (owner, leaseMs, claimNext, lookaheadText)
  if claimNext then
    local c = claimWaiting(KEYS[5], KEYS[9], KEYS[2], KEYS[1], KEYS[13], KEYS[14], KEYS[3], owner, leaseMs, tonumber(lookaheadText) or 0)
    if c then
      table.insert(c, 1, 2)
      return c
    end
  end
  return {0}
end

-- The lease the previous completion of this call kept, when it was this one's (same queue, token,
-- leaseMs and owner): its field holds exactly what this completion would read and write again, so
-- neither is done. Pipelined acks send a run's completions of one queue together: in the serial
-- drain with pipelinedAcks 16 that is 16 of every 17 completions, each one HGET and one HSET less.
local keptQueue, keptToken, keptNum, keptLeaseMs, keptOwner

local function completeOne (queue, token, owner, leaseMs, keep, taskId, lookaheadText, outcome, claimNext)
  local same = queue == keptQueue and token == keptToken and leaseMs == keptLeaseMs and owner == keptOwner
  keptQueue = nil
  local num, flags
  if same then
    num, flags = keptNum, '1'
  else
    num, flags = validLease(KEYS[1], queue, token, now)
  end
  if not num then return {-1} end
  local paused = flags == 'p'

  local listKey = KEYS[2] .. num
  local done = rcall('LPOP', listKey)
  -- The record starts with its id and a newline: a plain compare, no pattern.
  if not done or string.sub(done, 1, #taskId + 1) ~= taskId .. '\n' then
    -- Retry of a call that already completed taskId: the head is the next task. Put it back.
    if done then rcall('LPUSH', listKey, done) end
    if done and keep and not paused then
      local expiresAt = now + tonumber(leaseMs)
      rcall('HSET', KEYS[1], queue, leaseValue(token, num, expiresAt, flags, owner))
      local attempts, lastError = headState(rcall('HGET', KEYS[3], queue))
      return {1, done, expiresAt, attempts, lastError}
    end
    rcall('HDEL', KEYS[1], queue)
    if done then
      rcall('ZADD', KEYS[4], headScore(done), queue)
      if not paused then makeWaiting(KEYS[5], KEYS[6], queue, false) end
    elseif not paused then
      dropQueue(KEYS[9], KEYS[10], KEYS[4], queue, num)
    end
    return {0}
  end

  completed = completed + 1
  if outcome ~= '' then
    rcall('SET', KEYS[12] .. taskId, outcome, 'PX', 300000)
    rcall('SPUBLISH', KEYS[12], taskId .. '\n' .. outcome)
  end
  if string.sub(done, 1, #num + 1) ~= num .. '-' then rcall('HDEL', KEYS[11], taskId) end

  local nextRec = rcall('LINDEX', listKey, 0)
  if nextRec and keep and not paused then
    local expiresAt = now + tonumber(leaseMs)
    if not same then rcall('HSET', KEYS[1], queue, leaseValue(token, num, expiresAt, '1', owner)) end
    if flags ~= '1' then rcall('HSET', KEYS[3], queue, 1) end
    -- Still valid for the next completion only if it has not expired by `now`.
    if expiresAt > now then keptQueue, keptToken, keptNum, keptLeaseMs, keptOwner = queue, token, num, leaseMs, owner end
    local lookahead = tonumber(lookaheadText) or 0
    if lookahead < 1 then return {1, nextRec, expiresAt} end
    return appendLookahead({1, nextRec, expiresAt, false, false}, listKey, lookahead)
  end

  rcall('HDEL', KEYS[1], queue)
  rcall('HDEL', KEYS[3], queue)
  relistAfterHead(KEYS[4], KEYS[5], KEYS[6], KEYS[9], KEYS[10], queue, num, nextRec, paused)
  return released(owner, leaseMs, claimNext, lookaheadText)
end

local replies = {}
for i = 1, #ARGV, 9 do
  replies[#replies + 1] = completeOne(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4] == '1', ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8] == '1')
end
if completed > 0 then
  rcall('DECRBY', KEYS[8], completed)
  rcall('HINCRBY', KEYS[7], 'c' .. math.floor(now / 10000), completed)
end
return replies
