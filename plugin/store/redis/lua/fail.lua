-- fail: the lease holder's head failed. Checks the lease, records the error
-- and the failure, releases the lease, then:
--   dead-letter now, or attempts spent with onExhausted 'dead-letter' → the
--     head goes to the dead letters and the queue moves on (back of the ready list);
--   attempts spent otherwise → the queue halts until an operator acts;
--   attempts left → the queue retries its head at now + delayMs.
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
-- KEYS[12] halted  HASH queue → haltedAt
-- KEYS[13] delayed ZSET queue → retryAt
-- KEYS[14] dead    LIST of dead letter ids, newest first
-- KEYS[15] deadrec HASH id → dead letter entry
-- KEYS[16] tseq    counter of task numbers (ids for corrupt records)
-- KEYS[17] res     prefix of outcome keys of waited tasks; also their pub/sub channel
--
-- ARGV[1] queue
-- ARGV[2] token of the caller's lease
-- ARGV[3] error: one line shown to operators
-- ARGV[4] maxAttempts: the handler's attempts limit
-- ARGV[5] delayMs: backoff before the next attempt (ms)
-- ARGV[6] onExhausted: 'halt' or 'dead-letter'
-- ARGV[7] deadLetterNow: '1' to dead-letter whatever the attempts
-- ARGV[8] deadLetterLimit: dead letters kept
-- ARGV[9] waitedId: only for a head someone waits on: its id. When it halts or
--         is dead-lettered, `h\n<queue>\n<error>` / `d\n…` is kept at res:<id> for
--         5 minutes and SPUBLISHed as `<id>\n<outcome>` on the res channel.
--
-- Returns {-1} when fenced (nothing changed), {1, retryAt (ms)} retrying,
-- {2} halted, {3} dead-lettered.
local rcall = redis.call
-- @include _clock
-- @include _base36
-- @include _queue
-- @include _lease
-- @include _dead
-- @include _head

local queue, token, errorText = ARGV[1], ARGV[2], ARGV[3]
local function settled (kind)
  local id = ARGV[9]
  if not id or id == '' then return end
  local text = kind .. '\n' .. queue .. '\n' .. errorText
  rcall('SET', KEYS[17] .. id, text, 'PX', 300000)
  rcall('SPUBLISH', KEYS[17], id .. '\n' .. text)
end
local now = nowMs()
local num, flags = validLease(KEYS[1], queue, token, now)
if not num then return {-1} end
local paused = flags == 'p'

rcall('HDEL', KEYS[1], queue)
rcall('HINCRBY', KEYS[7], 'f' .. math.floor(now / 10000), 1)
local attempts = headState(rcall('HGET', KEYS[3], queue))
local exhausted = attempts >= tonumber(ARGV[4])
local listKey = KEYS[2] .. num

if ARGV[7] == '1' or (exhausted and ARGV[6] == 'dead-letter') then
  local rec = rcall('LPOP', listKey)
  if rec then
    rcall('DECR', KEYS[8])
    local id = recordId(rec)
    if id and string.sub(id, 1, #num + 1) ~= num .. '-' then rcall('HDEL', KEYS[11], id) end
    bury(KEYS[14], KEYS[15], id or (num .. '-x' .. base36(rcall('INCR', KEYS[16]))), queue, rec, attempts,
      errorText, errorText, now, tonumber(ARGV[8]))
  end
  rcall('HDEL', KEYS[3], queue)
  local nextRec = rcall('LINDEX', listKey, 0)
  relistAfterHead(KEYS[4], KEYS[5], KEYS[6], KEYS[9], KEYS[10], queue, num, nextRec, paused)
  settled('d')
  return {3}
end

rcall('HSET', KEYS[3], queue, headValue(attempts, errorText))
if exhausted then
  rcall('HSET', KEYS[12], queue, now)
end
-- The listing score: the halt for a halted queue, else the head (it went stale while the queue ran).
if exhausted and not paused then
  rcall('ZADD', KEYS[4], now, queue)
else
  local head = rcall('LINDEX', listKey, 0)
  if head then rcall('ZADD', KEYS[4], headScore(head), queue) end
end
if exhausted then
  settled('h')
  return {2}
end
local delayMs = tonumber(ARGV[5])
local retryAt = now + (delayMs > 0 and delayMs or 0)
rcall('ZADD', KEYS[13], retryAt, queue)
return {1, retryAt}
