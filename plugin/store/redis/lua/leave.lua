-- leave: an instance that stops taking work (closing) takes back its offer
-- to take a queue handed over (_handoff.lua) and gives back every head handed
-- to it that it has not taken: as release.lua, each lease still its own is
-- dropped, the attempt the handover counted is taken back, and the queue goes
-- to the front of the ready list (unless paused) with a wake-up.
--
-- KEYS[1] idle     ZSET <leaseMs>\t<owner> → until (ms): instances blocked for work
-- KEYS[2] inbox    prefix of the inbox lists of idle instances
-- KEYS[3] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[4] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[5] paused   SET of paused queues
-- KEYS[6] ready    LIST of waiting queues
-- KEYS[7] wake     LIST of wake-up tokens
-- KEYS[8] q        prefix of the queue lists
-- KEYS[9] queues   ZSET listing index
--
-- ARGV[1] owner: instance id
-- ARGV[2] leaseMs: the lease length its offers named (ms)
--
-- Returns the number of heads given back.
local rcall = redis.call
-- @include _clock
-- @include _queue
-- @include _lease
-- @include _head

rcall('ZREM', KEYS[1], ARGV[2] .. '\t' .. ARGV[1])
local inbox = KEYS[2] .. ARGV[1]
local now = nowMs()
local given = 0
for _ = 1, 100 do
  local item = rcall('LPOP', inbox)
  if not item then break end
  local ok, c = pcall(cjson.decode, item)
  local queue = ok and type(c) == 'table' and c[1]
  local num = type(queue) == 'string' and type(c[4]) == 'string' and validLease(KEYS[3], queue, c[4], now)
  if num then
    rcall('HDEL', KEYS[3], queue)
    local attempts, lastError = headState(rcall('HGET', KEYS[4], queue))
    if attempts > 0 then rcall('HSET', KEYS[4], queue, headValue(attempts - 1, lastError)) end
    local head = rcall('LINDEX', KEYS[8] .. num, 0)
    if head then rcall('ZADD', KEYS[9], headScore(head), queue) end
    if rcall('SISMEMBER', KEYS[5], queue) == 0 then makeWaiting(KEYS[6], KEYS[7], queue, true) end
    given = given + 1
  end
end
rcall('DEL', inbox)
return given
