-- overview: the totals of the admin overview, read atomically. State counts
-- follow the contract's precedence (running, paused, halted, retrying,
-- throttled, missing-handler, waiting), so they add up to the number of queues. Running
-- queues' listing scores are refreshed first (see _refresh.lua) for the oldest
-- head, so this script writes.
--
-- KEYS[1] queues   ZSET listing index
-- KEYS[2] ready    LIST of waiting queues
-- KEYS[3] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[4] delayed  ZSET queue → retryAt
-- KEYS[5] halted   HASH queue → haltedAt
-- KEYS[6] paused   SET of paused queues
-- KEYS[7] parked   HASH queue → handler name
-- KEYS[8] pending  counter of pending tasks
-- KEYS[9] dead     LIST of dead letter ids
-- KEYS[10] beat    ZSET instance id → when its record expires
-- KEYS[11] stats   HASH of 10 s buckets
-- KEYS[12] qid     HASH queue → number
-- KEYS[13] q       prefix of the queue lists
-- KEYS[14] throttled HASH queue → limiter name
--
-- Returns {now, queues, waiting, running, retrying, halted, paused,
-- missingHandler, pendingTasks, deadLetters, liveInstances, oldest head
-- enqueuedAt or -1, then completed and failed per 10 s bucket for the 60
-- buckets up to now, oldest first (nil for none), then throttled} (retrying
-- counts only the delayed queues that are not throttled).
local rcall = redis.call
-- @include _clock
-- @include _queue
-- @include _refresh

local now = nowMs()
refreshRunning(KEYS[3], KEYS[13], KEYS[1])
local pausedSet = {}
local paused = rcall('SMEMBERS', KEYS[6])
local pausedCount = 0
for i = 1, #paused do
  pausedSet[paused[i]] = true
  if rcall('HEXISTS', KEYS[3], paused[i]) == 0 then pausedCount = pausedCount + 1 end
end
local function unpaused (names)
  local n = 0
  for i = 1, #names do
    if not pausedSet[names[i]] then n = n + 1 end
  end
  return n
end

local oldest = -1
local first = rcall('ZRANGEBYSCORE', KEYS[1], HEAD_BASE, '(' .. EMPTY_SCORE, 'WITHSCORES', 'LIMIT', 0, 1)
if first[2] then oldest = tonumber(first[2]) - HEAD_BASE end
local haltedNames = rcall('HKEYS', KEYS[5])
for i = 1, #haltedNames do
  local num = rcall('HGET', KEYS[12], haltedNames[i])
  local head = num and rcall('LINDEX', KEYS[13] .. num, 0)
  local at = head and recordTime(head)
  if at and (oldest == -1 or at < oldest) then oldest = at end
end

local throttledNames = rcall('HKEYS', KEYS[14])
local throttled = unpaused(throttledNames)
local out = {
  now,
  rcall('ZCARD', KEYS[1]),
  rcall('LLEN', KEYS[2]),
  rcall('HLEN', KEYS[3]),
  unpaused(rcall('ZRANGE', KEYS[4], 0, -1)) - throttled,
  unpaused(haltedNames),
  pausedCount,
  unpaused(rcall('HKEYS', KEYS[7])),
  tonumber(rcall('GET', KEYS[8])) or 0,
  rcall('LLEN', KEYS[9]),
  rcall('ZCOUNT', KEYS[10], '(' .. now, '+inf'),
  oldest,
}
local bucket = math.floor(now / 10000)
local fields = {}
for b = bucket - 59, bucket do
  fields[#fields + 1] = 'c' .. b
  fields[#fields + 1] = 'f' .. b
end
local counts = rcall('HMGET', KEYS[11], unpack(fields))
for i = 1, #counts do out[12 + i] = counts[i] end
out[13 + #counts] = throttled
return out
