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
--
-- ARGV[1] owner: instance id of the claimer
-- ARGV[2] leaseMs: lease length (ms)
--
-- Returns nil when no queue is waiting, else
-- {queue, record, attempt, token, leaseExpiresAt (ms), lastError or nil}.
local rcall = redis.call
-- @include _grant

-- Entries that cannot run (a bug or a hand edit) are dropped rather than claimed; the loop is bounded.
for _ = 1, 100 do
  local queue = rcall('LPOP', KEYS[1])
  if not queue then return false end
  local num = rcall('HGET', KEYS[2], queue)
  local rec = num and rcall('LINDEX', KEYS[3] .. num, 0)
  if rec and rcall('HEXISTS', KEYS[4], queue) == 0 then
    local token, expiresAt, attempts, lastError = grantLease(KEYS[4], KEYS[5], KEYS[7], KEYS[6], queue, num, ARGV[1], ARGV[2])
    return {queue, rec, attempts, token, expiresAt, lastError}
  end
end
return false
