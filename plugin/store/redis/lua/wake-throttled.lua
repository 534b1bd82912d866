-- wake-throttled: makes throttled queues waiting again (back of the ready
-- list, one wake-up each): every named one, or with onlyDue those whose time
-- has come (a worker's precise timer). A named queue that is still held, with
-- onlyDue off, is marked in {p}:nudged: its holder was refused a slot that has
-- freed since, and its throttle must not park it (see throttle.lua).
--
-- KEYS[1] delayed   ZSET queue → retryAt / throttled until
-- KEYS[2] throttled HASH queue → limiter name
-- KEYS[3] lease     HASH queue → token:number:expiresAt:flags:owner
-- KEYS[4] nudged    SET of queues woken while held
-- KEYS[5] paused    SET of paused queues
-- KEYS[6] ready     LIST of waiting queues
-- KEYS[7] wake      LIST of wake-up tokens
--
-- ARGV[1] onlyDue: '1' to wake only queues whose time has come
-- ARGV[2..] queue names
--
-- Returns the number of queues made waiting.
local rcall = redis.call
-- @include _clock
-- @include _queue

local now = nowMs()
local onlyDue = ARGV[1] == '1'
local woken = 0
for i = 2, #ARGV do
  local queue = ARGV[i]
  local due = rcall('ZSCORE', KEYS[1], queue)
  if due and rcall('HEXISTS', KEYS[2], queue) == 1 then
    if not onlyDue or tonumber(due) <= now then
      rcall('ZREM', KEYS[1], queue)
      rcall('HDEL', KEYS[2], queue)
      if rcall('SISMEMBER', KEYS[5], queue) == 0 then
        rcall('RPUSH', KEYS[6], queue)
        woken = woken + 1
      end
    end
  elseif not onlyDue and rcall('HEXISTS', KEYS[3], queue) == 1 then
    rcall('SADD', KEYS[4], queue)
  end
end
if woken > 0 then signalWake(KEYS[7], woken) end
return woken
