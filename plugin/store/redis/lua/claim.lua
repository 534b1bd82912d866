-- claim: takes the first waiting queue, grants `owner` a lease on it with a
-- new fencing token (see _grant.lua: they grow, and survive a failover), counts an attempt on
-- its head and returns the head. The record is returned as stored; the
-- client decodes it (and reports a record that does not decode as corrupt).
--
-- KEYS[1] ready    LIST of waiting queues
-- KEYS[2] qid      HASH queue → number
-- KEYS[3] q        prefix of the queue lists
-- KEYS[4] lease    HASH queue → token:number:expiresAt:flags:owner
-- KEYS[5] token    counter of fencing tokens
-- KEYS[6] heads    HASH queue → attempts[\nlastError] of its head
-- KEYS[7] epoch    STRING <epoch>:<master replid> of the tokens (see _grant.lua)
-- KEYS[8] idle     ZSET <leaseMs>\t<owner> → until (ms): instances blocked for work (_handoff.lua)
-- KEYS[9] inbox    prefix of the inbox lists of idle instances
--
-- ARGV[1] owner: instance id of the claimer
-- ARGV[2] leaseMs: lease length (ms)
-- ARGV[3] idleMs: when nothing is waiting, offer to take a queue handed over
--         for this long (the claimer blocks on its inbox meanwhile); '' for no offer
-- ARGV[4] '1' when an earlier claim of this owner made an offer: it is taken
--         back, and a head handed over meanwhile is returned first
-- ARGV[5] lookahead (optional, pipelined acks): how many records after the
--         claimed head to return as well; absent or '0': none
--
-- Returns nil when no queue is waiting, else
-- {queue, record, attempt, token, leaseExpiresAt (ms), lastError or nil},
-- with a 7th element 1 when the head was handed over (its lease was granted
-- when the offer was taken, after the claim that made it). With a lookahead,
-- a claimed (not handed-over) head's reply is {queue, record, attempt, token,
-- leaseExpiresAt, lastError or false, false, record…} with the records queued
-- behind it (not started, nothing counted), as complete.lua's lookahead.
local rcall = redis.call
-- @include _claim

local offer = ARGV[2] .. '\t' .. ARGV[1]
if ARGV[4] == '1' then
  rcall('ZREM', KEYS[8], offer)
  local inbox = KEYS[9] .. ARGV[1]
  -- At most one head per offer; a stale one (its lease ended) is dropped.
  for _ = 1, 10 do
    local item = rcall('LPOP', inbox)
    if not item then break end
    local ok, c = pcall(cjson.decode, item)
    if ok and type(c) == 'table' and type(c[1]) == 'string' and type(c[4]) == 'string' and validLease(KEYS[4], c[1], c[4], nowMs()) then
      return {c[1], c[2], c[3], c[4], c[5], c[6], 1}
    end
  end
end

local claimed = claimWaiting(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[7], KEYS[6], ARGV[1], ARGV[2], tonumber(ARGV[5] or '0') or 0)
if claimed then return claimed end
if ARGV[3] and ARGV[3] ~= '' then rcall('ZADD', KEYS[8], nowMs() + tonumber(ARGV[3]), offer) end
return false
