-- limit-acquire: takes a token of one limiter for the head that is about to
-- start (the caller holds its queue's lease). Refused while the limiter is
-- paused, while its running slots are all taken, or while its sliding window
-- holds `max` starts. Runs on the limiter's own key base, apart from the
-- queue's (with several partitions they may live on different slots).
--
-- Refusals say when to try again. A rate refusal is staggered: each one is
-- promised a time at least perMs/max after the previous promise, so the
-- queues waiting for a busy limiter wake one token apart instead of all at
-- once for the same token. A refusal for a slot or an operator pause has no
-- known time: the queue is enlisted in {p}:limq:<L> and woken by the release
-- or resume that frees it (the time returned is only a fallback).
--
-- KEYS[1] lim      prefix of limiter hashes
-- KEYS[2] limw     prefix of window logs
-- KEYS[3] limc     prefix of running slots
-- KEYS[4] limq     prefix of waiting queues
-- KEYS[5] limiters SET of limiter names
--
-- ARGV[1] limiter name
-- ARGV[2] max starts per window, 0 for no rate
-- ARGV[3] perMs: the window (ms)
-- ARGV[4] concurrency, 0 for none
-- ARGV[5] holder: `queue\ntoken\ntaskId`, the running slot's member
-- ARGV[6] slotMs: how long the slot lives unless renewed (the lease length)
-- ARGV[7] queue name, enlisted when refused without a known time
--
-- Returns {1, now (ms)} when granted (now: the start's time in the window); {0, until (ms), reason, now (ms)} when refused,
-- reason 'backoff' | 'paused' | 'concurrency' | 'rate'.
local rcall = redis.call
-- @include _clock
-- @include _limiter

-- How long an enlisted queue waits at most before it checks again by itself (a lost wake-up, an instance that died).
local RECHECK_MS = 30000

local name = ARGV[1]
local max, perMs, conc = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local holder, queue = ARGV[5], ARGV[7]
local hashKey, slotsKey = KEYS[1] .. name, KEYS[3] .. name
local now = nowMs()
local def = ARGV[2] .. ':' .. ARGV[3] .. ':' .. ARGV[4]
local h = rcall('HMGET', hashKey, 'def', 'pause', 'next')
if h[1] ~= def then
  rcall('HSET', hashKey, 'def', def)
  rcall('SADD', KEYS[5], name)
end

local function enlist ()
  rcall('ZADD', KEYS[4] .. name, 'NX', now, queue)
end

local pausedUntil = parsePause(h[2])
if pausedUntil then
  if pausedUntil < 0 then
    enlist()
    return {0, now + RECHECK_MS, 'paused', now}
  end
  if pausedUntil > now then return {0, pausedUntil, 'backoff', now} end
  rcall('HDEL', hashKey, 'pause')
end

if conc > 0 then
  rcall('ZREMRANGEBYSCORE', slotsKey, '-inf', now)
  if rcall('ZCARD', slotsKey) >= conc and not rcall('ZSCORE', slotsKey, holder) then
    enlist()
    local first = rcall('ZRANGE', slotsKey, 0, 0, 'WITHSCORES')
    local freeAt = tonumber(first[2]) or (now + RECHECK_MS)
    return {0, math.min(freeAt, now + RECHECK_MS), 'concurrency', now}
  end
end

if max > 0 then
  local windowKey = KEYS[2] .. name
  rcall('ZREMRANGEBYSCORE', windowKey, '-inf', now - perMs)
  local used = rcall('ZCARD', windowKey)
  if used >= max then
    local oldest = rcall('ZRANGE', windowKey, 0, 0, 'WITHSCORES')
    local freeAt = tonumber(oldest[2]) + perMs
    local promised = (tonumber(h[3]) or 0) + math.ceil(perMs / max)
    local due = math.max(freeAt, promised)
    rcall('HSET', hashKey, 'next', due)
    return {0, due, 'rate', now}
  end
  -- Members are unique: within one ms the count only grows.
  rcall('ZADD', windowKey, now, now .. ':' .. used)
  rcall('PEXPIRE', windowKey, perMs + 1000)
end

if conc > 0 then
  rcall('ZADD', slotsKey, now + tonumber(ARGV[6]), holder)
  rcall('PEXPIRE', slotsKey, 2 * tonumber(ARGV[6]) + 1000)
  rcall('ZREM', KEYS[4] .. name, queue)
end
rcall('PEXPIRE', hashKey, LIMITER_TTL_MS)
return {1, now}
